/**
 * Hostile-input fuzz (docs/fault-tolerance.md §3, decoder part). From valid seeded frames of every
 * type we apply 10,000 mutations — bit flips, byte overwrites, truncation, extension with random
 * bytes, length-sized fields set huge, NaN/±Inf injected as f64/f32/f16 bit patterns, wrong
 * magic/version/type, and stacks of these — and require of every decode:
 *   - it never throws;
 *   - ok  => the message re-encodes to exactly the input bytes (the format is canonical, so nothing
 *            the decoder accepts can differ from what an honest encoder would send);
 *   - not ok => the reason is one of REASONS, with a non-empty detail.
 * The run must also produce every framing/validation refusal, so a decoder that accepted everything
 * (or refused everything the same way) fails here.
 *
 * Seeds are fixed, so the run is reproducible. If a seed ever finds a bug, fix the bug and add that
 * seed to SEEDS below as a named case so it is replayed forever.
 */
import { describe, expect, it } from 'vitest';
import { REASONS, type Reason } from '../result';
import { makeRng, type Rng } from '../rng';
import { ALL_TYPES, sampleMessage } from './fixtures';
import { decodeMessage, encodeMessage, DEFAULT_LIMITS, PROTOCOL_VERSION, type Limits } from './index';

const SEEDS: { name: string; seed: number; runs: number }[] = [
  { name: 'main', seed: 0x7ab5, runs: 10_000 },
  // named regression seeds go here, e.g. { name: 'fp16 subnormal carry', seed: 1234, runs: 2_000 },
];

const HUGE = [0xffffffff, 0x80000000, 0x7fffffff, 0x10000000, DEFAULT_LIMITS.maxFragments, DEFAULT_LIMITS.maxParams + 1];

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function randomBytes(rng: Rng, n: number): number[] {
  return Array.from({ length: n }, () => rng.int(256));
}

/** One mutation of `b`; returns a new array. */
function mutate(rng: Rng, b: Uint8Array): Uint8Array {
  const out = Uint8Array.from(b);
  const v = new DataView(out.buffer);
  const at = (width: number): number => 4 + rng.int(Math.max(1, out.length - 4 - width + 1));
  const fits = (off: number, width: number): boolean => off + width <= out.length;
  switch (rng.int(10)) {
    case 0: { // bit flip
      const i = rng.int(out.length);
      out[i] = (out[i] ?? 0) ^ (1 << rng.int(8));
      return out;
    }
    case 1: // byte overwrite
      out[rng.int(out.length)] = rng.int(256);
      return out;
    case 2: // truncation
      return out.slice(0, rng.int(out.length));
    case 3: // extension
      return Uint8Array.from([...out, ...randomBytes(rng, 1 + rng.int(16))]);
    case 4: { // a u32 (often a length or an index) set huge
      const off = at(4);
      if (fits(off, 4)) v.setUint32(off, HUGE[rng.int(HUGE.length)] ?? 0xffffffff, true);
      return out;
    }
    case 5: { // f64 NaN / ±Inf
      const off = at(8);
      if (fits(off, 8)) v.setFloat64(off, [NaN, Infinity, -Infinity][rng.int(3)] ?? NaN, true);
      return out;
    }
    case 6: { // f32 NaN / ±Inf, preferring 4-aligned offsets (where fp32 arrays live)
      const off = rng.next() < 0.7 ? at(4) & ~3 : at(4);
      if (off >= 4 && fits(off, 4)) v.setUint32(off, [0x7fc00000, 0x7f800000, 0xff800000, 0x7f800001][rng.int(4)] ?? 0x7fc00000, true);
      return out;
    }
    case 7: { // f16 NaN / ±Inf
      const off = at(2);
      if (fits(off, 2)) v.setUint16(off, [0x7c00, 0xfc00, 0x7e00][rng.int(3)] ?? 0x7c00, true);
      return out;
    }
    case 8: { // header: magic, version or type
      const which = rng.int(3);
      if (which === 0) out[rng.int(2)] = rng.int(256);
      else if (which === 1) out[2] = [0, 2, 4, 255, rng.int(256)][rng.int(5)] ?? 0;
      else out[3] = [0, 11, 12, 255, rng.int(256)][rng.int(5)] ?? 0;
      return out;
    }
    default: // keep the header, replace the body with random bytes
      return Uint8Array.from([...out.subarray(0, 4), ...randomBytes(rng, rng.int(out.length + 8))]);
  }
}

function fuzz(seed: number, runs: number): { counts: Map<string, number>; problems: string[] } {
  const rng = makeRng(seed);
  const counts = new Map<string, number>();
  const problems: string[] = [];
  const tight: Limits = { maxBytes: 96, maxFragments: 4, maxParams: 16, maxPayload: 24 };
  for (let run = 0; run < runs; run++) {
    const type = ALL_TYPES[rng.int(ALL_TYPES.length)] ?? 'pull';
    let bytes = encodeMessage(sampleMessage(type, rng));
    const stack = 1 + (rng.next() < 0.3 ? rng.int(3) : 0);
    for (let k = 0; k < stack && bytes.length > 0; k++) bytes = mutate(rng, bytes);
    const limits = rng.next() < 0.1 ? tight : DEFAULT_LIMITS;
    let key: string;
    try {
      const d = decodeMessage(bytes, limits);
      if (d.ok) {
        key = 'accepted';
        if (!sameBytes(encodeMessage(d.value), bytes)) problems.push(`run ${run}: accepted ${type} does not re-encode to its bytes`);
      } else {
        key = d.reason;
        if (!(REASONS as readonly string[]).includes(d.reason) || d.detail.length === 0) problems.push(`run ${run}: bad refusal ${d.reason}`);
      }
    } catch (e) {
      key = 'threw';
      problems.push(`run ${run}: ${type} threw ${String(e)}`);
    }
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return { counts, problems };
}

describe('decoder fuzz', () => {
  it.each(SEEDS)('$name: seed $seed, $runs mutations never throw and refuse with known reasons', ({ seed, runs }) => {
    const { counts, problems } = fuzz(seed, runs);
    expect(problems.slice(0, 10)).toEqual([]);
    const reasons = [...counts.keys()].filter((k) => k !== 'accepted');
    if (seed === SEEDS[0]?.seed) {
      expect(reasons.length).toBeGreaterThanOrEqual(8);
      const framing: Reason[] = ['truncated', 'oversized', 'bad-magic', 'bad-version', 'unknown-type', 'bad-field', 'trailing-bytes', 'non-finite'];
      for (const r of framing) expect(counts.get(r) ?? 0, r).toBeGreaterThan(0);
      expect(counts.get('threw') ?? 0).toBe(0);
    }
  });

  it('pure random frames (with and without a valid header) are all refused', () => {
    const rng = makeRng(99);
    for (let run = 0; run < 2000; run++) {
      const head = rng.next() < 0.5 ? [0x54, 0x53, PROTOCOL_VERSION, 1 + rng.int(12)] : [];
      const bytes = Uint8Array.from([...head, ...randomBytes(rng, rng.int(64))]);
      const d = decodeMessage(bytes);
      // the only random frame that can be valid is a bare 'bye' or a lucky short one; it must then re-encode exactly
      if (d.ok) expect(sameBytes(encodeMessage(d.value), bytes)).toBe(true);
      else expect(REASONS).toContain(d.reason);
    }
  });
});
