/**
 * Every refusal the decoder can give, each produced by a targeted corruption of a valid frame.
 * Byte offsets follow the layout documented in encode.ts.
 */
import { describe, expect, it } from 'vitest';
import { REASONS, type Reason } from '../result';
import { makeRng } from '../rng';
import { ALL_TYPES, sampleMessage } from './fixtures';
import { decodeMessage, encodeMessage, DEFAULT_LIMITS, PROTOCOL_VERSION, type Limits, type Message } from './index';
import { DEFAULT_LR } from '../schedule';

const snapshot: Message = {
  type: 'snapshot', runId: 'r', epoch: 3, globalStep: 40, progress: 0.25,
  config: { P: 2, H: 24, tau: 2, K: 2, uplinkCodec: 1, blockSize: 64, lockstep: false, lr: DEFAULT_LR, tokensPerStep: 256 }, versions: [39, 40],
  params: new Float32Array([0.5, -1, 2, 0.125]),
};
// snapshot offsets: runId len 4, 'r' 5, epoch 6, globalStep 10, progress 14, P 22, H 26, tau 30, K 34,
// codec 38, blockSize 39, lockstep 43, lr peak 44, warmup 52, floor 60, start 68, tokensPerStep 76, versions len 80,
// versions 84 and 88, params len 92, params 96..111 (already aligned: no padding)
const push: Message = { type: 'push', fragment: 1, round: 9, epoch: 2, baseVersion: 7, seq: 3, t: 100, cSteps: 24, cTokens: 6144, codec: 1, payload: new Uint8Array([1, 2, 3, 4, 5]) };
// push offsets: fragment 4, round 8, epoch 12, base 16, seq 20, t 24, cSteps 28, cTokens 32, codec 40, payload len 41, payload 45
const bcast32: Message = { type: 'broadcast', fragment: 0, version: 5, epoch: 1, globalStep: 5, progress: 0.5, precision: 'fp32', values: new Float32Array([1, 2, 3]) };
const bcast16: Message = { ...bcast32, precision: 'fp16' };
// broadcast offsets: fragment 4, version 8, epoch 12, step 16, progress 20, precision 28, n 29; fp32: pad 33..35, values 36; fp16: values 33
const bcastDelta: Message = { type: 'broadcast', fragment: 0, version: 5, epoch: 1, globalStep: 5, progress: 0.5, precision: 'delta', baseVersion: 4, codec: 2, payload: new Uint8Array([1, 2, 3]) };
// delta broadcast offsets: precision 28, baseVersion 29, codec 33, payload len 34, payload 38
const meta: Message = { type: 'meta', t: 5, cSteps: [1, 2], cTokens: [256, 512], stepMs: 40, versions: [3, 4] };
// meta offsets: t 4, cSteps len 8, cSteps 12 and 16, cTokens len 20, cTokens 24 and 32, stepMs 40, versions len 48, versions 52 and 56
const ack: Message = { type: 'ack', fragment: 1, round: 7, seq: 9, session: 3, outcome: 'rejected', reason: 'duplicate' };
const hello: Message = { type: 'hello', runId: 'run', learnerId: 'tab-1', session: 2, layoutHash: 'abcd', tokensPerStep: 256, backend: 'cpu', uplinkCodec: 1 };
// hello offsets: runId len 4, 'run' 5..7, learnerId len 8, 'tab-1' 9..13, session 14, layoutHash len 18, 'abcd' 19..22, tokensPerStep 23
const reject: Message = { type: 'reject', reason: 'run-mismatch', detail: 'wrong run' };

type Patch = (v: DataView, b: Uint8Array) => void;

function corrupt(m: Message, patch: Patch): Uint8Array {
  const b = encodeMessage(m);
  patch(new DataView(b.buffer, b.byteOffset, b.byteLength), b);
  return b;
}

function expectRefused(bytes: Uint8Array, reason: Reason, limits?: Limits): void {
  const d = decodeMessage(bytes, limits);
  expect(d.ok ? 'accepted' : d.reason).toBe(reason);
  if (!d.ok) expect(d.detail.length).toBeGreaterThan(0);
}

const u32 = (off: number, x: number): Patch => (v) => v.setUint32(off, x, true);
const f64 = (off: number, x: number): Patch => (v) => v.setFloat64(off, x, true);
const f32 = (off: number, x: number): Patch => (v) => v.setFloat32(off, x, true);
const u8 = (off: number, x: number): Patch => (_v, b) => { b[off] = x; };

describe('each refusal from a targeted corruption', () => {
  it('the test layouts match the encoder', () => {
    expect(encodeMessage(snapshot).length).toBe(112);
    expect(encodeMessage(push).length).toBe(50);
    expect(encodeMessage(bcast32).length).toBe(48);
    expect(encodeMessage(bcast16).length).toBe(39);
    expect(encodeMessage(bcastDelta).length).toBe(41);
    expect(encodeMessage(meta).length).toBe(60);
    for (const m of [snapshot, push, bcast32, bcast16, bcastDelta, meta, ack, hello, reject]) expect(decodeMessage(encodeMessage(m))).toEqual({ ok: true, value: m });
  });

  it('oversized: frame above maxBytes, checked before the header', () => {
    const b = encodeMessage(push);
    expectRefused(b, 'oversized', { ...DEFAULT_LIMITS, maxBytes: b.length - 1 });
    expectRefused(new Uint8Array(100), 'oversized', { ...DEFAULT_LIMITS, maxBytes: 99 });
    expect(decodeMessage(b, { ...DEFAULT_LIMITS, maxBytes: b.length }).ok).toBe(true);
  });

  it('oversized: array lengths above their limits, before the body is there', () => {
    expectRefused(corrupt(snapshot, u32(92, 0xffffffff)), 'oversized'); // params
    expectRefused(corrupt(snapshot, u32(80, 0xffffffff)), 'oversized'); // versions
    expectRefused(corrupt(meta, u32(8, DEFAULT_LIMITS.maxFragments + 1)), 'oversized');
    expectRefused(corrupt(meta, u32(20, 0x80000000)), 'oversized');
    expectRefused(corrupt(bcast16, u32(29, 0xffffffff)), 'oversized');
    expectRefused(encodeMessage(push), 'oversized', { ...DEFAULT_LIMITS, maxPayload: 4 });
    expectRefused(corrupt(bcastDelta, u32(34, 0xffffffff)), 'oversized');
    expectRefused(encodeMessage(bcastDelta), 'oversized', { ...DEFAULT_LIMITS, maxPayload: 2 });
    expectRefused(encodeMessage(bcast32), 'oversized', { ...DEFAULT_LIMITS, maxParams: 2 });
    expectRefused(encodeMessage(snapshot), 'oversized', { ...DEFAULT_LIMITS, maxFragments: 1 }); // 2 versions
    // a frame cut right after a huge length field is refused for the length, not the missing body
    expectRefused(corrupt(push, u32(41, 0xffffffff)).subarray(0, 45), 'oversized');
  });

  it('truncated: every proper prefix of every message', () => {
    const rng = makeRng(11);
    for (const type of ALL_TYPES) {
      const b = encodeMessage(sampleMessage(type, rng));
      for (let n = 0; n < b.length; n++) expectRefused(b.subarray(0, n), 'truncated');
    }
    expectRefused(corrupt(push, u32(41, 6)), 'truncated'); // length one more than the bytes present
    expectRefused(corrupt(bcastDelta, u32(34, 4)), 'truncated');
    expectRefused(corrupt(hello, u8(4, 200)), 'truncated'); // string longer than the frame
  });

  it('trailing-bytes: anything after the last field', () => {
    const rng = makeRng(12);
    for (const type of ALL_TYPES) {
      const b = encodeMessage(sampleMessage(type, rng));
      expectRefused(Uint8Array.from([...b, 0]), 'trailing-bytes');
    }
    expectRefused(corrupt(push, u32(41, 4)), 'trailing-bytes'); // length one less than the bytes present
    expectRefused(corrupt(bcastDelta, u32(34, 2)), 'trailing-bytes');
  });

  it('bad-magic, bad-version, unknown-type', () => {
    expectRefused(corrupt(push, u8(0, 0x55)), 'bad-magic');
    expectRefused(corrupt(push, u8(1, 0x54)), 'bad-magic');
    expectRefused(new TextEncoder().encode('{"type":"push"}'), 'bad-magic');
    for (const v of [0, 1, 2, 3, 4, 5, 6, 8]) expectRefused(corrupt(push, u8(2, v)), 'bad-version'); // v6 frames (no backend message) are refused, not misread
    for (const t of [0, 13, 255]) expectRefused(corrupt(push, u8(3, t)), 'unknown-type');
  });

  it('bad-field: indices, ranges, enums, charsets, consistency, padding', () => {
    const cases: [string, Uint8Array, Limits?][] = [
      ['fragment = maxFragments', corrupt(push, u32(4, DEFAULT_LIMITS.maxFragments))],
      ['fragment above a tight limit', encodeMessage(push), { ...DEFAULT_LIMITS, maxFragments: 1 }],
      ['pull fragment huge', corrupt({ type: 'pull', fragment: 0, round: 1 }, u32(4, 0xffffffff))],
      ['ack fragment huge', corrupt(ack, u32(4, 5000))],
      ['progress > 1', corrupt(bcast32, f64(20, 1.0000001))],
      ['progress < 0', corrupt(snapshot, f64(14, -0.5))],
      ['negative cTokens (push)', corrupt(push, f64(32, -1))],
      ['negative cTokens (meta)', corrupt(meta, f64(32, -256))],
      ['negative stepMs', corrupt(meta, f64(40, -0.001))],
      ['cSteps/cTokens length mismatch', Uint8Array.from([...encodeMessage({ type: 'meta', t: 5, cSteps: [1, 2], cTokens: [256, 512], stepMs: 40, versions: [3, 4] }).subarray(0, 20), 1, 0, 0, 0, ...new Uint8Array(new Float64Array([256, 40]).buffer), 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0])],
      ['outcome byte 2', corrupt(ack, u8(20, 2))],
      ['reason index beyond REASONS', corrupt(ack, u8(21, REASONS.length))],
      ['rejected ack without reason', corrupt(ack, u8(21, 255))],
      ['merged ack with a reason', corrupt(ack, u8(20, 0))],
      ['reject with reason 255', corrupt(reject, u8(4, 255))],
      ['non-ASCII byte in runId', corrupt(hello, u8(6, 0xc3))],
      ['space in learnerId', corrupt(hello, u8(10, 0x20))],
      ['NUL in layoutHash', corrupt(hello, u8(20, 0))],
      ['empty runId', Uint8Array.from([0x54, 0x53, PROTOCOL_VERSION, 1, 0, ...encodeMessage(hello).subarray(8)])],
      ['id over 64 chars', Uint8Array.from([0x54, 0x53, PROTOCOL_VERSION, 1, 65, ...new Array<number>(65).fill(0x61), ...encodeMessage(hello).subarray(8)])],
      ['tokensPerStep 0', corrupt(hello, u32(23, 0))],
      ['control char in detail', corrupt(reject, u8(7, 0x0a))],
      ['space in backend', corrupt({ type: 'backend', backend: 'webgl' }, u8(7, 0x20))],
      ['empty backend', Uint8Array.from([0x54, 0x53, PROTOCOL_VERSION, 12, 0])],
      ['precision byte 3', corrupt(bcast16, u8(28, 3))],
      ['delta baseVersion = version', corrupt(bcastDelta, u32(29, 5))],
      ['delta baseVersion above version', corrupt(bcastDelta, u32(29, 0xffffffff))],
      ['non-zero padding', corrupt(bcast32, u8(34, 1))],
      ['config lockstep = 2', corrupt(snapshot, u8(43, 2))],
      ['config lr warmup = 1', corrupt(snapshot, f64(52, 1))],
      ['config lr peak = 2', corrupt(snapshot, f64(44, 2))],
      ['config tokensPerStep = 0', corrupt(snapshot, u32(76, 0))],
      ['non-zero broadcast padding', corrupt(bcast32, u8(35, 0x80))],
      ['config P = 0', corrupt(snapshot, u32(22, 0))],
      ['config H = 0', corrupt(snapshot, u32(26, 0))],
      ['config P != versions', corrupt(snapshot, u32(22, 3))],
    ];
    for (const [name, bytes, limits] of cases) {
      const d = decodeMessage(bytes, limits);
      expect(d.ok ? `${name}: accepted` : `${name}: ${d.reason}`).toBe(`${name}: bad-field`);
    }
  });

  it('non-finite: NaN or ±Infinity in any float field or any array element', () => {
    const cases: [string, Uint8Array][] = [
      ['NaN progress (snapshot)', corrupt(snapshot, f64(14, NaN))],
      ['NaN lr floor (snapshot)', corrupt(snapshot, f64(60, NaN))],
      ['Inf progress (broadcast)', corrupt(bcast32, f64(20, Infinity))],
      ['Inf cTokens (push)', corrupt(push, f64(32, Infinity))],
      ['-Inf cTokens (meta)', corrupt(meta, f64(24, -Infinity))],
      ['NaN stepMs', corrupt(meta, f64(40, NaN))],
      ['NaN nowMs', corrupt({ type: 'heartbeat', t: 1, nowMs: 5 }, f64(8, NaN))],
      ['fp16 +Inf', corrupt(bcast16, (v) => v.setUint16(33, 0x7c00, true))],
      ['fp16 -Inf', corrupt(bcast16, (v) => v.setUint16(35, 0xfc00, true))],
      ['fp16 NaN', corrupt(bcast16, (v) => v.setUint16(37, 0x7e01, true))],
      ['fp32 NaN in values', corrupt(bcast32, f32(44, NaN))],
    ];
    for (let i = 0; i < 4; i++) {
      cases.push([`params[${i}] NaN`, corrupt(snapshot, f32(96 + 4 * i, NaN))]);
      cases.push([`params[${i}] -Inf`, corrupt(snapshot, f32(96 + 4 * i, -Infinity))]);
    }
    // a NaN with a payload (signalling-style bits) is still NaN
    cases.push(['params NaN payload', corrupt(snapshot, (v) => v.setUint32(108, 0xff800001, true))]);
    for (const [name, bytes] of cases) {
      const d = decodeMessage(bytes);
      expect(d.ok ? `${name}: accepted` : `${name}: ${d.reason}`).toBe(`${name}: non-finite`);
    }
  });
});
