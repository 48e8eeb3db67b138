import { describe, expect, it } from 'vitest';
import { bytesTable, DEFAULT_BYTES_TABLE, formatBytesTable, measureBytes, predictBytes } from './bytes-table';

describe('bytes per learner step vs data-parallel', () => {
  const o = DEFAULT_BYTES_TABLE;

  it('a swarm at P=2, H=12 (int4 up, int8 down; the old browser-demo default) is where the analytic model puts it, far below 200×', () => {
    // 3 learners, P=2, H=12, K=1, the syncer's int4 pushes and int8 downlink. Nearly every learner in every
    // merge: one pulled before its host copy was due answers when its step ends, now and then past the window.
    const m = measureBytes(o, 12, 'int8');
    expect(m.contributorsPerMerge).toBeGreaterThan(2.9);
    expect(Math.abs(m.ratio / m.predictedRatio - 1)).toBeLessThan(0.1);
    // 2 × 4 × 101,770 / (60 + 159,305 / 10.86): 55×; pulled exactly every H steps it would be 61×.
    expect(m.predictedRatio).toBeCloseTo(55.3, 1);
    expect(m.idealRatio).toBeCloseTo(61.05, 2);
    expect(m.ratio).toBeLessThan(200);
  });

  it('with int8 down, H=48 is the first H of the table past 200× and H=96 past 400×; int4 down does not lower the H either bar needs', () => {
    const reach = (bar: number): string[] =>
      o.Hs.flatMap((H) => o.downlinks.filter((d) => predictBytes(o, H, d).predictedRatio >= bar).map((d) => `${H} ${d}`));
    expect(reach(200)).toEqual(['48 int8', '48 int4', '96 int8', '96 int4']);
    expect(reach(400)).toEqual(['96 int8', '96 int4']);
    // The recommendation, measured: 10 pulls per fragment (±1 pull of the 100,352-value fragment is ±10% at worst).
    const m = measureBytes({ ...o, periods: 10 }, 48, 'int8');
    expect(m.ratio).toBeGreaterThan(200);
    expect(Math.abs(m.ratio / m.predictedRatio - 1)).toBeLessThan(0.1);
  });

  it('pairs each row\'s loss with the reference row on the same seeds, and marks rows by the measured ratio', () => {
    // A small stand-in for both models keeps this a test of the bookkeeping, not of the numbers.
    const small = { ...o, Hs: [12, 48], downlinks: ['int8' as const], bytesModel: o.lossModel, periods: 6, tokens: 4_000, seeds: [1, 2] };
    const rows = bytesTable(small);
    expect(rows.map((r) => `${r.H} ${r.downlink}`)).toEqual(['12 int8', '48 int8']);
    const [ref, other] = rows as [typeof rows[0], typeof rows[0]];
    expect(ref.deltaVsReference).toEqual([0, 0]);
    other.excess.forEach((x, i) => expect(other.deltaVsReference[i]).toBe(x - ref.excess[i]!));
    const table = formatBytesTable(rows, small).split('\n').filter((l) => /^\| \d/.test(l));
    rows.forEach((r, i) => expect(table[i]!.split('|')[9]!.trim()).toBe(r.ratio >= 200 ? '✓' : ''));
  });
});
