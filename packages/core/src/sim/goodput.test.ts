import { describe, expect, it } from 'vitest';
import type { FailureSource } from './chaos-engine';
import { DEFAULT_CHAOS, goodputTable, simulateGoodput, simulateWithFailures, type ChaosConstants, type System } from './goodput';
import { expectedMaxNormal } from './normal-max';
import { formatGoodputTable } from './table';

const SHORT: ChaosConstants = { ...DEFAULT_CHAOS, horizonHours: 48 };
const SYSTEMS: System[] = [{ kind: 'dp' }, { kind: 'elastic-dp' }, ...[1, 2, 4, 8, 16].map((learners): System => ({ kind: 'decoupled', learners }))];

/** Failures at the given absolute times (s), hitting the given live-slice indices (default 0). */
function scripted(times: number[], picks: number[] = []): FailureSource {
  let j = 0;
  return { next: (now) => times.find((x) => x > now) ?? Infinity, pick: () => picks[j++] ?? 0 };
}

/** One simulated hour, no stragglers, no random failures: every number below is hand-checkable. */
const HAND: ChaosConstants = { ...DEFAULT_CHAOS, horizonHours: 1, speedCv: 0 };

describe('goodput table shape (48 h horizon)', () => {
  const t = goodputTable({ constants: { horizonHours: 48 }, seed: 7 });
  const row = (system: string, M?: number) => t.rows.find((r) => r.system === system && r.M === M)!.byChips;

  it('goodput falls as the job grows, for every system', () => {
    for (const r of t.rows) {
      for (let i = 1; i < t.chips.length; i++) expect(r.byChips[t.chips[i]!]!, r.label).toBeLessThan(r.byChips[t.chips[i - 1]!]!);
    }
  });

  it('Decoupled M=8 > elastic DP > DP at every chip count', () => {
    for (const n of t.chips) {
      expect(row('decoupled', 8)[n]!).toBeGreaterThan(row('elastic-dp')[n]!);
      expect(row('elastic-dp')[n]!).toBeGreaterThan(row('dp')[n]!);
    }
  });

  it('Decoupled goodput rises with the number of learners', () => {
    for (const n of t.chips) {
      const byM = [2, 4, 8, 16].map((m) => row('decoupled', m)[n]!);
      for (let i = 1; i < byM.length; i++) expect(byM[i]!).toBeGreaterThan(byM[i - 1]!);
    }
  });

  it('lands in the paper’s neighbourhood at 1.2M chips (27% / 58% / 88% there)', () => {
    const n = 1_200_000;
    expect(row('dp')[n]!).toBeGreaterThan(0.2);
    expect(row('dp')[n]!).toBeLessThan(0.35);
    expect(row('elastic-dp')[n]!).toBeGreaterThan(0.45);
    expect(row('elastic-dp')[n]!).toBeLessThan(0.7);
    expect(row('decoupled', 8)[n]!).toBeGreaterThan(0.8);
    expect(row('decoupled', 8)[n]!).toBeLessThan(0.95);
  });

  it('keeps the global model advancing with M ≥ 4 (the paper’s ≈100% uptime)', () => {
    for (const n of t.chips) expect(t.rows.find((r) => r.M === 8)!.uptimeByChips[n]!).toBeGreaterThan(0.999);
  });

  it('prints every row, every column and every constant', () => {
    const text = formatGoodputTable(t);
    for (const r of t.rows) expect(text).toContain(r.label);
    for (const label of ['150k', '300k', '600k', '1.2M', '2.4M']) expect(text).toContain(label);
    for (const [k, v] of Object.entries(t.constants)) expect(text).toContain(`${k}=${v}`);
  });
});

describe('determinism and accounting', () => {
  it('the same seed reproduces every number; another seed does not', () => {
    const a = goodputTable({ constants: { horizonHours: 6 }, seed: 3, chips: [150_000, 1_200_000] });
    const b = goodputTable({ constants: { horizonHours: 6 }, seed: 3, chips: [150_000, 1_200_000] });
    const c = goodputTable({ constants: { horizonHours: 6 }, seed: 4, chips: [150_000, 1_200_000] });
    expect(b).toEqual(a);
    expect(c.rows).not.toEqual(a.rows);
    expect(simulateGoodput({ kind: 'dp' }, 600_000, SHORT, 9)).toEqual(simulateGoodput({ kind: 'dp' }, 600_000, SHORT, 9));
  });

  it('goodput plus badput by cause is all the allocated chip-time', () => {
    for (const s of SYSTEMS) {
      const r = simulateGoodput(s, 300_000, SHORT, 5);
      const { stalled, lost, degraded, straggler } = r.badput;
      expect(r.goodput + stalled + lost + degraded + straggler).toBeCloseTo(1, 9);
      for (const x of [r.goodput, stalled, lost, degraded, straggler]) expect(x).toBeGreaterThanOrEqual(0);
    }
  });

  it('counts chip failures as a Poisson process of rate chips / MTBI', () => {
    // DP keeps every slot live (hot spares), so the count is exactly Poisson with this mean (≈6,575).
    const r = simulateGoodput({ kind: 'dp' }, 1_200_000, SHORT, 11);
    const mean = ((r.slices * SHORT.chipsPerSlice) / SHORT.mtbiHours) * SHORT.horizonHours;
    expect(Math.abs(r.failures - mean)).toBeLessThan(5 * Math.sqrt(mean));
  });
});

describe('hand-checkable limits', () => {
  it('MTBI → ∞ with no stragglers: goodput and uptime are exactly 1 for every system', () => {
    const c = { ...SHORT, mtbiHours: Infinity, speedCv: 0 };
    for (const s of SYSTEMS) expect(simulateGoodput(s, 2_400_000, c, 1)).toMatchObject({ goodput: 1, uptime: 1, failures: 0 });
  });

  it('MTBI → ∞ with stragglers: DP loses exactly the wait for its slowest slice', () => {
    const c = { ...SHORT, mtbiHours: Infinity };
    const r = simulateGoodput({ kind: 'dp' }, 1_200_000, c, 1);
    expect(r.goodput).toBeCloseTo(1 / (1 + c.speedCv * expectedMaxNormal(r.slices)), 12);
    expect(r.uptime).toBe(1);
  });

  it('DP, one failure at t = 1005.5 s: all chips stall 5 + 60 s and replay 5.5 s since the checkpoint at 1000 s', () => {
    const r = simulateWithFailures({ kind: 'dp' }, 2560, HAND, scripted([1005.5], [3]));
    expect(r.failures).toBe(1);
    expect(r.goodput).toBeCloseTo((3600 - 65 - 5.5) / 3600, 12);
    expect(r.uptime).toBeCloseTo((3600 - 65) / 3600, 12);
    expect(r.badput.lost).toBeCloseTo(5.5 / 3600, 12);
    expect(r.badput.stalled).toBeCloseTo(65 / 3600, 12);
  });

  it('elastic DP, one failure of 10 slices: step in flight, downscale, 600 s one short, upscale', () => {
    const r = simulateWithFailures({ kind: 'elastic-dp' }, 2560, HAND, scripted([1000.25]));
    // slice-seconds: 0.25 s × 10 aborted, 10 s × 9 detect+downscale, 600 s × 1 repairing, 10 s × 10 upscale.
    expect(r.goodput).toBeCloseTo((36000 - 2.5 - 90 - 600 - 100) / 36000, 12);
    expect(r.uptime).toBeCloseTo((3600 - 20) / 3600, 12);
  });

  it('Decoupled, 2 one-slice learners: the failed one loses its unsynced steps, the model never stops', () => {
    const r = simulateWithFailures({ kind: 'decoupled', learners: 2 }, 512, HAND, scripted([1000.5], [0]));
    // 1000.5 s = 41 syncs of H = 24 steps + 16.5 s unsynced; then 600 s dead and a 60 s relaunch.
    expect(r.goodput).toBeCloseTo((7200 - 16.5 - 600 - 60) / 7200, 12);
    expect(r.uptime).toBe(1);
  });
});
