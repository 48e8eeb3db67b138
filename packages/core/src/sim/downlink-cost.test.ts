import { describe, expect, it } from 'vitest';
import { quantizationOf, quantizeUpdate } from '../downlink';
import { encodeMessage } from '../protocol';
import { makeRng } from '../rng';
import { DEFAULT_QUALITY } from './quality';
import { downlinkComparison } from './downlink-cost';

describe('downlink bytes', () => {
  // The digits MLP's first fragment (784×128 weights): per-parameter cost of one broadcast on the wire.
  const n = 100_352;
  const rng = makeRng(3);
  const prev = Float32Array.from({ length: n }, () => rng.normal() * 0.05);
  const next = Float32Array.from(prev, (v) => v + 1e-3 * rng.normal());
  const head = { type: 'broadcast', fragment: 0, version: 9, epoch: 1, globalStep: 9, progress: 0.5 } as const;

  it('full fp32 values cost 4 B/param, int8 1 + 4/128 and int4 0.5 + 4/128, plus a fixed frame', () => {
    const full = encodeMessage({ ...head, precision: 'fp32', values: next }).length;
    // frame 29 B (header, fragment, version, epoch, step, progress, precision) + u32 count + 3 padding bytes
    expect(full).toBe(36 + 4 * n);
    const blocks = Math.ceil(n / 128);
    for (const [name, codeBytes] of [['int8', n], ['int4', n / 2]] as const) {
      const q = quantizationOf(name, 128)!;
      const u = quantizeUpdate(prev, next, q);
      if (!u.ok) throw new Error(u.detail);
      const bytes = encodeMessage({ ...head, precision: 'delta', baseVersion: 8, codec: q.codec, payload: u.value.payload }).length;
      // frame 29 B + baseVersion 4 + codec 1 + payload length 4; codec header 12 + one fp32 scale per block
      expect(bytes).toBe(38 + 12 + 4 * blocks + codeBytes);
    }
    expect((36 + 4 * n) / n).toBeCloseTo(4, 3);
    expect((50 + 4 * blocks + n) / n).toBeCloseTo(1.0317, 4);
    expect((50 + 4 * blocks + n / 2) / n).toBeCloseTo(0.5317, 4);
  });

  it('the simulator sends fewer bytes down for each narrower downlink, and trains as well as fp32', () => {
    const rows = downlinkComparison({ ...DEFAULT_QUALITY, seeds: [4], tokens: 20_000 });
    const down = rows.map((r) => r.bytesDownPerStep);
    expect(rows.map((r) => r.downlink)).toEqual(['fp32', 'fp16', 'int8', 'int4']);
    for (let i = 1; i < down.length; i++) expect(down[i]!).toBeLessThan(down[i - 1]!);
    // Per value delivered, never below the payload alone (4, 2, 1 + 4/128, 0.5 + 4/128 bytes).
    rows.forEach((r, i) => expect(r.bytesPerParamCommit).toBeGreaterThan([4, 2, 1 + 4 / 128, 0.5 + 4 / 128][i]!));
    // From 0.78 nats of excess at the start to ~0.14 here; the quantised update moves that by < 0.01.
    for (const r of rows) expect(Math.abs(r.meanExcess - rows[0]!.meanExcess)).toBeLessThan(0.01);
  });
});
