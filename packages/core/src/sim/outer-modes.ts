import { NO_GRACE } from '../grace';
import { DEFAULT_OUTER, type OuterConfig } from '../outer';
import { DEFAULT_QUALITY, qualitySwarm, type QualityOptions } from './quality';
import { runSwarm } from './swarm';

/**
 * The outer step under single-contributor merges (docs/method.md §5): K = 1 without a grace window and
 * a 3× speed spread, so the fastest learner's push closes nearly every round alone, the case where plain
 * outer Nesterov is least stable. Each method is a Decoupled DiLoCo swarm of the quality table on the
 * same seeds; the 'auto' rows show which mode it picked, with and without grace.
 */
export const DEFAULT_OUTER_MODES: QualityOptions = { ...DEFAULT_QUALITY, speedSpread: 3 };

export interface OuterMethod {
  name: string;
  grace: boolean;
  outer: (o: QualityOptions) => OuterConfig;
}

const PLAIN: OuterMethod = { name: 'Nesterov', grace: false, outer: () => ({ ...DEFAULT_OUTER, kind: 'nesterov' }) };
const AUTO: OuterMethod = { name: 'auto', grace: false, outer: () => DEFAULT_OUTER };

/** The candidates for the sparse mode, against plain Nesterov and the 'auto' policy that picks one. */
export const OUTER_METHODS: readonly OuterMethod[] = [
  PLAIN,
  { name: 'Delayed Nesterov, N = M', grace: false, outer: (o) => ({ ...DEFAULT_OUTER, kind: 'delayed-nesterov', delayPeriod: o.learners }) },
  // η·c/M with c = 1 contributor per merge: the lowered-η alternative to Delayed Nesterov.
  { name: 'Nesterov, η·1/M', grace: false, outer: (o) => ({ ...DEFAULT_OUTER, kind: 'nesterov', lr: DEFAULT_OUTER.lr / o.learners }) },
  AUTO,
  { ...PLAIN, name: 'Nesterov + grace', grace: true },
  { ...AUTO, name: 'auto + grace', grace: true },
];

export interface OuterModeRow {
  method: string;
  /** Held-out cross-entropy − the teacher's Bayes-optimal cross-entropy, per seed (nats). */
  excess: number[];
  meanExcess: number;
  contributorsPerMerge: number;
  /** Merges that applied Delayed Nesterov / all merges, over the seeds (from the merge logs). */
  delayedShare: number;
}

export function outerModeComparison(o: QualityOptions = DEFAULT_OUTER_MODES, methods: readonly OuterMethod[] = OUTER_METHODS): OuterModeRow[] {
  return methods.map((m) => {
    const runs = o.seeds.map((seed) => runSwarm(qualitySwarm(o, seed, { K: 1, outer: m.outer(o), ...(m.grace ? {} : { grace: NO_GRACE }) })));
    const excess = runs.map((r) => r.evalLoss - r.bayesLoss);
    const merges = runs.reduce((s, r) => s + r.merges, 0);
    const delayed = runs.reduce((s, r) => s + r.mergeLog.filter((e) => e.outer?.kind === 'delayed-nesterov').length, 0);
    return {
      method: m.name, excess, meanExcess: excess.reduce((a, b) => a + b, 0) / Math.max(1, excess.length),
      contributorsPerMerge: runs.reduce((s, r) => s + r.contributorsPerMerge * r.merges, 0) / Math.max(1, merges),
      delayedShare: delayed / Math.max(1, merges),
    };
  });
}

export function formatOuterModeTable(rows: readonly OuterModeRow[], o: QualityOptions): string {
  const f = (x: number): string => x.toFixed(4).padStart(8);
  return [
    `Outer step with K=1 (no grace unless named) at a ${o.speedSpread}× speed spread (${o.tokens.toLocaleString('en')} examples, M=${o.learners}, ` +
      `H=${o.H}, P=${o.P}, ${o.timings ?? 'paper'} timings, seeds ${o.seeds.join(',')})`,
    `${'outer step'.padEnd(26)} ${'excess loss per seed (nats)'.padStart(28)} ${'mean'.padStart(8)} ${'contrib/merge'.padStart(14)} ${'Delayed Nesterov merges'.padStart(24)}`,
    '-'.repeat(104),
    ...rows.map((r) =>
      `${r.method.padEnd(26)} ${r.excess.map(f).join(' ').padStart(28)} ${f(r.meanExcess)} ${r.contributorsPerMerge.toFixed(2).padStart(14)} ` +
        `${`${(100 * r.delayedShare).toFixed(1)}%`.padStart(24)}`),
    'excess loss = held-out cross-entropy − the teacher\'s Bayes-optimal cross-entropy; auto = Nesterov while the last 8 merges of a fragment ' +
      'average ≥ M/2 contributors, else Delayed Nesterov with N = M',
  ].join('\n');
}
