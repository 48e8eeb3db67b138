import { describe, expect, it } from 'vitest';
import { ConfigError, REASONS } from '../result';
import { makeRng } from '../rng';
import { int8 } from '../codecs';
import { ALL_TYPES, sampleMessage } from './fixtures';
import { f32ToHalfBits, halfBitsToF32 } from './half';
import { DEFAULT_LR } from '../schedule';
import {
  decodeMessage, encodeMessage, peekHeader, DEFAULT_LIMITS, PROTOCOL_VERSION, type Message, type PushMsg,
} from './index';

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function roundTrip(m: Message): Message {
  const bytes = encodeMessage(m);
  const d = decodeMessage(bytes);
  if (!d.ok) throw new Error(`${m.type} refused: ${d.reason} ${d.detail}`);
  expect(encodeMessage(d.value)).toEqual(bytes);
  return d.value;
}

describe('round trip', () => {
  it.each(ALL_TYPES)('%s decodes to an equal message and re-encodes to the same bytes', (type) => {
    const rng = makeRng(7);
    for (let i = 0; i < 50; i++) {
      const m = sampleMessage(type, rng);
      expect(roundTrip(m)).toEqual(m);
    }
  });

  it('golden bytes: pull', () => {
    const bytes = encodeMessage({ type: 'pull', fragment: 3, round: 258 });
    expect([...bytes]).toEqual([0x54, 0x53, 0x07, 0x04, 3, 0, 0, 0, 0x02, 0x01, 0, 0]);
  });

  it('golden bytes: ack (rejected, stale-base = REASONS[16])', () => {
    expect(REASONS.indexOf('stale-base')).toBe(16);
    const bytes = encodeMessage({ type: 'ack', fragment: 1, round: 7, seq: 9, session: 2, outcome: 'rejected', reason: 'stale-base' });
    expect([...bytes]).toEqual([0x54, 0x53, 0x07, 0x06, 1, 0, 0, 0, 7, 0, 0, 0, 9, 0, 0, 0, 2, 0, 0, 0, 1, 16]);
    const merged = encodeMessage({ type: 'ack', fragment: 1, round: 7, seq: 9, session: 2, outcome: 'merged', reason: null });
    expect([...merged.subarray(20)]).toEqual([0, 255]);
  });

  it('golden bytes: backend (type 12)', () => {
    const bytes = encodeMessage({ type: 'backend', backend: 'webgl' });
    expect([...bytes]).toEqual([0x54, 0x53, 0x07, 0x0c, 5, 0x77, 0x65, 0x62, 0x67, 0x6c]); // header, u8 length 5, 'webgl'
  });

  it('golden bytes: broadcast of an int8 outer update against version 7', () => {
    // int8 of [1, −0.5], block 8: scale 1 (0x3F800000); q = 127 and round(−63.5) = −63 → codes 254, 64.
    const payload = int8.encode(Float32Array.from([1, -0.5]), 8);
    expect([...payload]).toEqual([2, 0, 0, 0, 8, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0x80, 0x3f, 254, 64]);
    const bytes = encodeMessage({ type: 'broadcast', fragment: 1, version: 9, epoch: 2, globalStep: 9, progress: 0.5, precision: 'delta', baseVersion: 7, codec: 2, payload });
    expect([...bytes]).toEqual([
      0x54, 0x53, 0x07, 0x07, 1, 0, 0, 0, 9, 0, 0, 0, 2, 0, 0, 0, 9, 0, 0, 0, // header, fragment, version, epoch, globalStep
      0, 0, 0, 0, 0, 0, 0xe0, 0x3f, 2,                                          // progress 0.5, precision 2 = delta
      7, 0, 0, 0, 2, 18, 0, 0, 0, ...payload,                                   // baseVersion, codec, payload length, payload
    ]);
    expect(bytes.length).toBe(38 + payload.length);
  });

  it('keeps extreme but legal values exactly', () => {
    const rng = makeRng(1);
    const edge: Message[] = [
      { type: 'heartbeat', t: 0xffffffff, nowMs: -0 },
      { type: 'heartbeat', t: 0, nowMs: Number.MAX_VALUE },
      { type: 'meta', t: 0, cSteps: [], cTokens: [], stepMs: 0, versions: [] },
      { type: 'reject', reason: 'no-steps', detail: '' },
      { type: 'bye' },
      { ...(sampleMessage('push', rng) as PushMsg), payload: new Uint8Array(0), cTokens: 2 ** 53 + 2 },
      { type: 'broadcast', fragment: 0, version: 1, epoch: 1, globalStep: 1, progress: 1, precision: 'fp32',
        values: new Float32Array([3.4028234663852886e38, -1.401298464324817e-45, -0, 0]) },
      { type: 'broadcast', fragment: 0, version: 1, epoch: 1, globalStep: 1, progress: 0, precision: 'fp16',
        values: new Float32Array([65504, -65504, 2 ** -24, -0, 0]) },
      { type: 'broadcast', fragment: 0, version: 0xffffffff, epoch: 1, globalStep: 1, progress: 0, precision: 'delta', baseVersion: 0xfffffffe, codec: 255, payload: new Uint8Array(0) },
    ];
    for (const m of edge) expect(roundTrip(m)).toEqual(m);
    const h = roundTrip({ type: 'heartbeat', t: 0, nowMs: -0 });
    expect(Object.is((h as { nowMs: number }).nowMs, -0)).toBe(true);
  });

  it('fp16 broadcasts round values to nearest half and decode to fp32', () => {
    const values = new Float32Array([0.1, -3.14159, 1e-6, 1000.7]);
    const m = roundTrip({ type: 'broadcast', fragment: 0, version: 2, epoch: 0, globalStep: 2, progress: 0.5, precision: 'fp16', values });
    const got = (m as { values: Float32Array }).values;
    expect(got).toBeInstanceOf(Float32Array);
    expect([...got]).toEqual([...values].map((v) => halfBitsToF32(f32ToHalfBits(v))));
    expect(Math.abs((got[0] ?? 0) - 0.1)).toBeLessThan(1e-4);
    const fp16 = encodeMessage({ type: 'broadcast', fragment: 0, version: 2, epoch: 0, globalStep: 2, progress: 0.5, precision: 'fp16', values: new Float32Array(1000) });
    const fp32 = encodeMessage({ type: 'broadcast', fragment: 0, version: 2, epoch: 0, globalStep: 2, progress: 0.5, precision: 'fp32', values: new Float32Array(1000) });
    expect(fp32.length - fp16.length).toBe(2000 + 3); // half the value bytes, and no padding
  });

  it('fp16 conversion is exact for every finite half and rounds ties to even', () => {
    const wrong: number[] = [];
    for (let b = 0; b < 65536; b++) {
      const v = halfBitsToF32(b);
      if (Number.isFinite(v) ? f32ToHalfBits(v) !== b : (b & 0x7c00) !== 0x7c00) wrong.push(b);
    }
    expect(wrong).toEqual([]);
    expect(f32ToHalfBits(1 + 2 ** -11)).toBe(0x3c00); // tie -> even
    expect(f32ToHalfBits(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie -> even (up)
    expect(f32ToHalfBits(65519)).toBe(0x7bff);
    expect(f32ToHalfBits(65520)).toBe(0x7c00);
    expect(f32ToHalfBits(2 ** -25)).toBe(0); // tie between 0 and the smallest subnormal
    expect(f32ToHalfBits(2 ** -25 * 1.5)).toBe(1);
    expect(f32ToHalfBits(2 ** -14 - 2 ** -25)).toBe(0x0400); // subnormal rounding carries into the smallest normal
    expect(f32ToHalfBits(-2)).toBe(0xc000);
  });

  it('aligns fp32 arrays to 4 bytes and decodes from unaligned buffers too', () => {
    const rng = makeRng(3);
    for (let i = 0; i < 20; i++) {
      const m = sampleMessage('snapshot', rng);
      const bytes = encodeMessage(m);
      const n = (m as { params: Float32Array }).params.length;
      expect((bytes.length - 4 * n) % 4).toBe(0); // params end the frame and start 4-aligned
      for (const shift of [1, 2, 3]) {
        const host = new Uint8Array(bytes.length + shift);
        host.set(bytes, shift);
        const d = decodeMessage(host.subarray(shift));
        expect(d.ok && d.value).toEqual(m);
      }
    }
  });

  it('decoded arrays own their memory', () => {
    const m: Message = { type: 'broadcast', fragment: 0, version: 1, epoch: 0, globalStep: 1, progress: 0, precision: 'fp32', values: new Float32Array([1, 2, 3]) };
    const bytes = encodeMessage(m);
    const d = decodeMessage(bytes);
    bytes.fill(0, bytes.length - 12);
    expect(d.ok && [...(d.value as { values: Float32Array }).values]).toEqual([1, 2, 3]);
    const push = encodeMessage({ ...(sampleMessage('push', makeRng(2)) as PushMsg), payload: new Uint8Array([9, 9]) });
    const p = decodeMessage(push);
    push.fill(0);
    expect(p.ok && [...(p.value as PushMsg).payload]).toEqual([9, 9]);
  });

  it('peekHeader reads the header alone', () => {
    const bytes = encodeMessage({ type: 'bye' });
    expect(bytes.length).toBe(4);
    expect(peekHeader(bytes)).toEqual({ ok: true, value: { version: PROTOCOL_VERSION, type: 'bye' } });
    expect(peekHeader(encodeMessage(sampleMessage('snapshot', makeRng(4)))).ok && 'snapshot').toBe('snapshot');
    expect(peekHeader(new Uint8Array([0x54, 0x53, 1])).ok).toBe(false);
  });
});

describe('encoder refuses messages no peer would accept (programmer errors)', () => {
  const base = { type: 'hello', runId: 'run', learnerId: 'l1', session: 0, layoutHash: 'abc', tokensPerStep: 256, backend: 'cpu', uplinkCodec: 1 } as const;
  const bad: [string, Message][] = [
    ['non-ASCII id', { ...base, learnerId: 'lé' }],
    ['space in id', { ...base, runId: 'a b' }],
    ['empty id', { ...base, runId: '' }],
    ['id over 64 chars', { ...base, runId: 'x'.repeat(65) }],
    ['negative u32', { ...base, session: -1 }],
    ['fractional u32', { ...base, session: 1.5 }],
    ['u32 overflow', { ...base, session: 2 ** 32 }],
    ['codec over u8', { ...base, uplinkCodec: 256 }],
    ['progress > 1', { type: 'broadcast', fragment: 0, version: 1, epoch: 0, globalStep: 1, progress: 1.5, precision: 'fp32', values: new Float32Array(1) }],
    ['NaN value', { type: 'broadcast', fragment: 0, version: 1, epoch: 0, globalStep: 1, progress: 0, precision: 'fp32', values: new Float32Array([1, NaN]) }],
    ['fp16 overflow', { type: 'broadcast', fragment: 0, version: 1, epoch: 0, globalStep: 1, progress: 0, precision: 'fp16', values: new Float32Array([70000]) }],
    ['delta not ahead of its base', { type: 'broadcast', fragment: 0, version: 4, epoch: 0, globalStep: 4, progress: 0, precision: 'delta', baseVersion: 4, codec: 2, payload: new Uint8Array(0) }],
    ['delta codec over u8', { type: 'broadcast', fragment: 0, version: 4, epoch: 0, globalStep: 4, progress: 0, precision: 'delta', baseVersion: 3, codec: 256, payload: new Uint8Array(0) }],
    ['meta length mismatch', { type: 'meta', t: 1, cSteps: [1, 2], cTokens: [1], stepMs: 1, versions: [0, 0] }],
    ['merged ack with a reason', { type: 'ack', fragment: 0, round: 1, seq: 1, session: 1, outcome: 'merged', reason: 'duplicate' }],
    ['backend with a space', { type: 'backend', backend: 'web gpu' }],
    ['backend over 32 chars', { type: 'backend', backend: 'w'.repeat(33) }],
    ['detail with newline', { type: 'reject', reason: 'bad-field', detail: 'a\nb' }],
    ['snapshot P != versions', { type: 'snapshot', runId: 'r', epoch: 0, globalStep: 0, progress: 0, config: { P: 2, H: 1, tau: 1, K: 1, uplinkCodec: 0, blockSize: 64, lockstep: false, lr: DEFAULT_LR, tokensPerStep: 8 }, versions: [0], params: new Float32Array(0) }],
  ];
  it.each(bad)('%s', (_name, m) => {
    expect(() => encodeMessage(m)).toThrow(ConfigError);
  });
});

describe('size', () => {
  it('a push of 1M int4 payload bytes costs at most 64 bytes of framing', () => {
    const payload = new Uint8Array(1 << 20);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 2654435761) >>> 24;
    const m: PushMsg = { type: 'push', fragment: 2, round: 99, epoch: 1, baseVersion: 95, seq: 12, t: 4000, cSteps: 24, cTokens: 24 * 4096, codec: 1, payload };
    const bytes = encodeMessage(m);
    expect(bytes.length).toBeLessThanOrEqual(payload.length + 64);
    expect(bytes.length).toBe(payload.length + 45);
    expect(bytes.length).toBeLessThanOrEqual(DEFAULT_LIMITS.maxBytes);
    const d = decodeMessage(bytes);
    expect(d.ok && sameBytes((d.value as PushMsg).payload, payload)).toBe(true);
    expect(sameBytes(encodeMessage(d.ok ? d.value : m), bytes)).toBe(true);
  });
});
