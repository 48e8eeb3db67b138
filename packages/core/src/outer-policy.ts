/**
 * The outer step's mode per merge (docs/method.md §5, §8). Plain outer Nesterov (η = 0.7, μ = 0.9) on
 * pseudo-gradients that arrive one learner at a time is the least stable recipe: each single-learner Δ
 * is amplified by the momentum as if it were a whole round's. Async Local-SGD's Delayed Nesterov touches
 * the momentum only every N merges. With 'auto' the syncer looks at the fragment's last OUTER_WINDOW
 * merges: while they average at least M/2 contributors (M = connected learners when the round closes)
 * a merge is a round's worth of learners and takes the Nesterov step; below that it takes Delayed
 * Nesterov with N = M, so the momentum moves about once per M contributions, as it would with full rounds.
 *
 * Why Delayed Nesterov rather than a lowered η (η·c/M for c mean contributors): at K = 1 with no grace
 * window and a 3× speed spread (1.00 contributor per merge; M = 4, the quality table's swarm of 400,000
 * examples, seeds 1–3; `npm run sim -- --outer`) the mean excess loss over the Bayes optimum was 0.079
 * nats with plain Nesterov, 0.023 with Delayed Nesterov N = 4 and 0.025 with Nesterov at η = 0.7·1/4
 * (0.099, 0.030, 0.033 at 100,000 examples; 0.095, 0.031, 0.037 on seeds 4–6); with the grace window
 * (4.00 contributors) it is 0.015. The two fixes are close; Delayed Nesterov is the better of them on the
 * mean of both seed sets (and on every one of seeds 4–6), and it leaves η to mean one thing.
 *
 * M = 1 is never sparse: one learner is all the learners there are, and Delayed Nesterov with N = 1
 * is Nesterov anyway.
 */
import { ConfigError } from './result';
import type { OuterChoice, OuterConfig, OuterMode } from './outer';

/** Merges of one fragment whose contributor counts are averaged: enough to smooth one slow round, few
 * enough (8 merges of a fragment ≈ 8·H inner steps) to follow a swarm that grows or shrinks. */
export const OUTER_WINDOW = 8;

const NESTEROV: OuterChoice = { kind: 'nesterov', delayPeriod: 1 };

/**
 * The step for one merge. `contributors`: pushes in each of the fragment's recent merges, this one last
 * (at least one entry). `learners`: connected learners when the round closes. Forced kinds return
 * themselves. Throws ConfigError on a caller bug (no merge, a negative count).
 */
export function chooseOuterStep(cfg: OuterConfig, contributors: readonly number[], learners: number): OuterChoice {
  if (contributors.length === 0) throw new ConfigError('chooseOuterStep needs the contributors of at least this merge');
  if (!Number.isInteger(learners) || learners < 0) throw new ConfigError(`learners must be an integer ≥ 0, got ${learners}`);
  if (cfg.kind === 'nesterov') return NESTEROV;
  if (cfg.kind === 'delayed-nesterov') return { kind: 'delayed-nesterov', delayPeriod: cfg.delayPeriod };
  if (learners <= 1 || meanOf(contributors) >= learners / 2) return NESTEROV;
  return { kind: 'delayed-nesterov', delayPeriod: learners };
}

/** One decision and what it saw, for the dashboard. */
export interface OuterDecision extends OuterChoice {
  fragment: number;
  /** Mean contributors over the window the decision averaged, and the connected learners M. */
  meanContributors: number;
  learners: number;
}

/** The syncer's per-fragment windows, the latest decision per fragment, and merges counted per mode. */
export class OuterPolicy {
  /** The latest decision of each fragment (null before its first merge in this incarnation). */
  readonly current: Array<OuterDecision | null>;
  readonly merges: Record<OuterMode, number> = { nesterov: 0, 'delayed-nesterov': 0 };
  /** The latest decision on any fragment. */
  last: OuterDecision | null = null;
  // A reload starts the windows empty: its first merges decide on fewer samples, and the log records
  // what was applied, so a replay does not depend on them.
  private readonly windows: number[][];

  constructor(private readonly cfg: OuterConfig, P: number) {
    this.windows = Array.from({ length: P }, () => []);
    this.current = this.windows.map(() => null);
  }

  /** Decide the step of a merge of `fragment` with `contributors` pushes while `learners` are connected. */
  decide(fragment: number, contributors: number, learners: number): OuterChoice {
    const w = this.windows[fragment];
    if (!w) throw new ConfigError(`fragment ${fragment} out of range`);
    if (!Number.isInteger(contributors) || contributors < 1) throw new ConfigError(`a merge has ≥ 1 contributor, got ${contributors}`);
    w.push(contributors);
    if (w.length > OUTER_WINDOW) w.shift();
    const choice = chooseOuterStep(this.cfg, w, learners);
    const d: OuterDecision = { ...choice, fragment, meanContributors: meanOf(w), learners };
    this.current[fragment] = d;
    this.last = d;
    this.merges[choice.kind]++;
    return choice;
  }
}

/** What the dashboard says: "Nesterov", or "Delayed Nesterov (merges average 1.2 contributors of 4 learners)". */
export function describeOuter(d: OuterDecision | null): string {
  if (!d) return '–';
  if (d.kind === 'nesterov') return 'Nesterov';
  return `Delayed Nesterov (merges average ${d.meanContributors.toFixed(1)} contributors of ${d.learners} learners)`;
}

const meanOf = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
