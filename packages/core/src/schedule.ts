/**
 * The inner learning-rate schedule, indexed by the coordinator's global progress clock (merged tokens /
 * planned tokens) rather than by a learner's own step count, so a late joiner does not restart warmup
 * and a slow tab does not lag the schedule (docs/method.md §3). One definition for the learner
 * tabs and the simulator, so what the simulator predicts is what the tabs run.
 */
export interface LrSchedule {
  /** Peak learning rate, reached at the end of warmup. */
  peak: number;
  /** Fraction of the planned tokens spent warming up, in [0, 1). */
  warmup: number;
  /** Final learning rate as a fraction of peak, in [0, 1]. */
  floor: number;
  /** Smallest fraction of peak during warmup: at progress 0 nothing is merged yet, and a learning rate
   * of exactly 0 would make the first pushes empty. */
  start: number;
}

/** The schedule's fields in wire order (the snapshot's config carries them as four f64). */
export const LR_FIELDS = ['peak', 'warmup', 'floor', 'start'] as const satisfies ReadonlyArray<keyof LrSchedule>;

/** Why a schedule is unusable, or undefined: a peak in (0, 1], warmup in [0, 1), floor and start in [0, 1]. */
export function lrScheduleError(s: LrSchedule): string | undefined {
  if (!(Number.isFinite(s.peak) && s.peak > 0 && s.peak <= 1)) return `peak ${s.peak}, want (0, 1]`;
  if (!(s.warmup >= 0 && s.warmup < 1)) return `warmup ${s.warmup}, want [0, 1)`;
  if (!(s.floor >= 0 && s.floor <= 1)) return `floor ${s.floor}, want [0, 1]`;
  if (!(s.start >= 0 && s.start <= 1)) return `start ${s.start}, want [0, 1]`;
  return undefined;
}

/** docs/method.md §3: peak 1e-3, warmup 2% of the planned tokens, cosine to 10% of peak. */
export const DEFAULT_LR: LrSchedule = { peak: 1e-3, warmup: 0.02, floor: 0.1, start: 0.05 };

/**
 * Learning rate at global progress p:
 *   p < warmup → peak · max(start, p / warmup) (linear);
 *   p ≥ 1      → peak · floor (the run went past its plan: it keeps training at the floor);
 *   otherwise    cosine from peak down to peak · floor over [warmup, 1].
 */
export function lrAt(progress: number, s: LrSchedule = DEFAULT_LR): number {
  if (!(Number.isFinite(progress) && progress >= 0)) throw new Error(`lrAt: progress ${progress}, want a finite number >= 0`);
  const why = lrScheduleError(s);
  if (why !== undefined) throw new Error(`lrAt: ${why}`);
  if (progress < s.warmup) return s.peak * Math.max(s.start, progress / s.warmup);
  if (progress >= 1) return s.peak * s.floor;
  const decay = (progress - s.warmup) / (1 - s.warmup); // 0 → 1
  return s.peak * (s.floor + (1 - s.floor) * 0.5 * (1 + Math.cos(Math.PI * decay)));
}

/** Inner steps over which a fresh inner optimizer ramps its learning rate up from 1/LOCAL_WARMUP_STEPS. */
export const LOCAL_WARMUP_STEPS = 50;

/**
 * Factor on the scheduled learning rate for the n-th step (from 0) of a fresh inner optimizer: a new
 * AdamW's first steps are sign-like (|Δθ| ≈ lr for every weight), and a tab that joined mid-run would push
 * that noise into the global model. Applies to every new tab and every rebuilt worker.
 */
export function localWarmup(stepsSinceFresh: number, steps = LOCAL_WARMUP_STEPS): number {
  return Math.min(1, (stepsSinceFresh + 1) / steps);
}

/**
 * Mean localWarmup factor over the `steps` inner steps before local step `t` (steps t−steps … t−1, from
 * 0): how much of the full learning rate a push made of them was trained at. Closed form, so a hostile
 * claim of 2³² steps costs nothing. 1 when there are no steps.
 */
export function meanLocalWarmup(t: number, steps: number, W = LOCAL_WARMUP_STEPS): number {
  const a = Math.max(0, t - steps), b = t - 1;
  if (!(b >= a)) return 1;
  const rampEnd = Math.min(b, W - 2); // steps k ≤ W − 2 run at (k + 1)/W < 1
  const ramp = rampEnd >= a ? ((rampEnd + 1) * (rampEnd + 2) - a * (a + 1)) / 2 / W : 0;
  const flat = Math.max(0, b - Math.max(a, W - 1) + 1);
  return (ramp + flat) / (b - a + 1);
}
