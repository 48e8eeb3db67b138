import type { QualityOptions, QualityRow } from './quality';

/** Fixed-width text table of a quality comparison: excess loss over the Bayes optimum, mean ± sd. */
export function formatQualityTable(rows: readonly QualityRow[], o: QualityOptions): string {
  const lines = [
    `Training quality at equal tokens (${o.tokens.toLocaleString('en')} examples, M=${o.learners}, H=${o.H}, P=${o.P}, ` +
      `${o.timings ?? 'paper'} timings, fastest step ${o.stepMs} ms, speed spread ${o.speedSpread}×, non-i.i.d. skew ${o.nonIid}, seeds ${o.seeds.join(',')})`,
    `${'method'.padEnd(36)} ${'excess loss (nats)'.padStart(20)} ${'vs DP'.padStart(8)} ${'sim min'.padStart(8)} ${'contrib/merge'.padStart(14)} ` +
      `${'merged/trained'.padStart(15)} ${'bytes/step'.padStart(11)}`,
    '-'.repeat(118),
  ];
  const dp = rows[0]?.meanExcess ?? NaN;
  for (const r of rows) {
    const sd = Math.sqrt(r.excess.reduce((s, x) => s + (x - r.meanExcess) ** 2, 0) / Math.max(1, r.excess.length - 1));
    lines.push(
      `${r.method.padEnd(36)} ${`${r.meanExcess.toFixed(4)} ± ${sd.toFixed(4)}`.padStart(20)} ${`${(r.meanExcess / dp).toFixed(2)}×`.padStart(8)} ` +
        `${r.simMinutes.toFixed(1).padStart(8)} ${r.contributorsPerMerge.toFixed(2).padStart(14)} ${r.mergedFraction.toFixed(2).padStart(15)} ` +
        `${Math.round(r.bytesPerStep).toLocaleString('en').padStart(11)}`,
    );
  }
  lines.push('excess loss = held-out cross-entropy − the teacher\'s Bayes-optimal cross-entropy; merged/trained = tokens merged into the global model / ' +
    'tokens trained; bytes/step = encoded message bytes per learner step, both directions, join snapshots included ' +
    '(frame signatures and transport chunk headers are not modelled)');
  return lines.join('\n');
}
