import { ConfigError } from '../result';
import { MAX_BLOCK, MIN_BLOCK } from '../codecs';
import { DOWNLINKS, quantizationOf, type Downlink } from '../downlink';
import { checkGraceConfig, DEFAULT_GRACE, type GraceConfig } from '../grace';
import { DEFAULT_OUTER, makeOuterState, type OuterConfig } from '../outer';
import { MERGE_MODES, type MergeMode } from '../merge';
import { DEFAULT_LR, lrAt, lrScheduleError, type LrSchedule } from '../schedule';

/** Everything the syncer needs to know about a run. Defaults: docs/method.md §4, §5. */
export interface SyncConfig {
  runId: string;
  /** Number of fragments. */
  P: number;
  /** Inner steps a learner takes on a fragment between two receipts of it. */
  H: number;
  /** Rounds in flight at once, on distinct fragments. */
  tau: number;
  /** Minimum quorum. The effective quorum is min(K, connected learners) so a small swarm never blocks,
   * except with merge 'centered-clip', where it is K itself (strictQuorum). */
  K: number;
  grace: GraceConfig;
  outer: OuterConfig;
  merge: MergeMode;
  /** c_steps is capped at stepsCapFactor·H in the token weight (docs/method.md §5): 2 → a learner that
   * trained offline for a long time weighs at most as much as one that took 2H steps at the same batch. */
  stepsCapFactor: number;
  /** Versions of each fragment kept to rebuild pushed deltas. A push whose base is older is refused as
   * stale: with τ=2 a learner's base is at most ~2 versions behind, 4 leaves room for one slow round. */
  historyDepth: number;
  /** Codec learners use for their uplink deltas, and its block size. */
  uplinkCodec: number;
  blockSize: number;
  /** What a commit sends down (downlink.ts, docs/method.md §6). int8 / int4: the outer update Θ_v − Θ_{v−1},
   * blockwise with `blockSize`, to learners that hold v−1 (1 + 4/128 ≈ 1.03 or 0.53 bytes per parameter
   * instead of 4), full fp32 values to the rest; the syncer adopts the dequantised value so every copy
   * stays bit-identical. fp32 / fp16: full values to everyone (fp16 halves the bytes, copies then differ
   * by its rounding; TF.js has no bf16). */
  downlink: Downlink;
  /** Tokens the run plans to merge; the global progress clock is mergedTokens / plannedTokens
   * (docs/method.md §3). */
  plannedTokens: number;
  /** A learner silent for max(heartbeatMinMs, heartbeatSteps · its step time) is dropped: a killed tab
   * never says goodbye (docs/method.md §4). */
  heartbeatMinMs: number;
  heartbeatSteps: number;
  /** A round stops waiting for pulled learners this long (ms) after it opened: it merges what came, or
   * is abandoned. Every wait across a boundary needs a deadline; a pull or push can be lost with its
   * connection. 30 s is ≫ one push at browser speeds (≈1 s for 1 MB) and ≪ a sync period. */
  roundTimeoutMs: number;
  /** Hostile-input guards (guards.ts). No learner holds more than maxShare of one merge's weight: 0.5 lets
   * two honest learners of unequal batch still merge (equally) and keeps any one of ≥ 3 below half. With
   * three or more contributors no weight exceeds the merge's median weight either (capShares), so a
   * minority inflating its claims weighs no more than a typical learner. */
  maxShare: number;
  /** A push whose update norm exceeds normCapFactor × the running median of its fragment's last normWindow
   * norms is refused as 'norm-outlier' (no cap before normWarmup samples). Norms are divided by the shape
   * of the inner LR schedule at the current progress (lrShape) and by the push's mean local warmup, so
   * the schedule's ×20 warmup ramp and fresh tabs' small first pushes are not taken for an attack. The
   * median's window holds every norm that reached the check, refused ones too: only a majority moves a
   * median, and an honest majority whose norms grew must not be locked out by a median of its own smaller
   * past. Honest norms vary by ~2× (steps capped at 2H); a ×100 attack does not hide. Below normWarmup
   * samples, and always as a ceiling, the cap is absoluteNormCap's (guards.ts): never absent. */
  normCapFactor: number;
  normWindow: number;
  normWarmup: number;
  /** The inner LR schedule: sent to every learner in its snapshot, and its shape scales the norm cap. */
  innerLr: LrSchedule;
  /** Synchronous baselines (docs/method.md §9): a learner that pushed a fragment waits for its broadcast. */
  lockstep: boolean;
  /** Largest |Δθᵢ| one inner step can make per unit of learning rate: AdamW's |m̂/(√v̂+ε)| is at most
   * (1−β1)/√((1−β2)(1−β1²/β2)) = 2.35 at β = (0.9, 0.99) (Cauchy–Schwarz on the moment sums; bias
   * correction only lowers it), plus decoupled weight decay wd·|θᵢ| (0.1 × |θᵢ| ≤ 0.65 for |θᵢ| ≤ 6.5).
   * The absolute norm cap (guards.ts absoluteNormCap) is built on it. */
  stepBound: number;
  /** Tokens one inner step trains in this run: batch × context (text) or batch (digits). A learner's hello
   * must say the same (it is the run's configuration, not the learner's claim), every push is capped at
   * cSteps × tokensPerStep, and the snapshot carries it to every learner (docs/fault-tolerance.md §3). */
  tokensPerStep: number;
  /** No inner step is faster than this (ms): steps claimed since a learner first joined are capped by
   * elapsed time / minStepMs, per push and summed over its pushes on a fragment, so a learner cannot invent
   * work it had no time to do. 2 ms = 500 steps/s, 4× the fastest rate measured (the digits MLP alone in a
   * WASM tab: 128.5 steps/s, npm run bench). */
  minStepMs: number;
  /** Invalid messages (malformed, forged, non-finite, impossible claims) tolerated per connection before it
   * is dropped; the learner id is then refused for banMs. Stale or late pushes are honest races: no strike. */
  maxStrikes: number;
  banMs: number;
}

export const DEFAULT_SYNC: SyncConfig = {
  runId: 'run',
  P: 4,
  H: 24,
  tau: 2,
  K: 1,
  grace: DEFAULT_GRACE,
  outer: DEFAULT_OUTER,
  merge: 'rda',
  stepsCapFactor: 2,
  historyDepth: 4,
  uplinkCodec: 3, // int4 blockwise
  blockSize: 128,
  downlink: 'int8',
  plannedTokens: 1e7,
  heartbeatMinMs: 5000,
  heartbeatSteps: 3,
  roundTimeoutMs: 30_000,
  maxShare: 0.5,
  normCapFactor: 8,
  normWindow: 32,
  normWarmup: 8,
  innerLr: DEFAULT_LR,
  lockstep: false,
  stepBound: 3,
  tokensPerStep: 8,
  minStepMs: 2,
  maxStrikes: 5,
  banMs: 60_000,
};

export function makeSyncConfig(overrides: Partial<SyncConfig> = {}): SyncConfig {
  const c = { ...DEFAULT_SYNC, ...overrides };
  const positiveInt = (name: keyof SyncConfig): void => {
    const v = c[name];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new ConfigError(`${name} must be a positive integer, got ${String(v)}`);
  };
  (['P', 'H', 'tau', 'K', 'historyDepth', 'blockSize'] as const).forEach(positiveInt);
  if (c.tau > c.P) throw new ConfigError(`tau (${c.tau}) cannot exceed P (${c.P}): rounds in flight are on distinct fragments`);
  if (!(c.plannedTokens > 0)) throw new ConfigError('plannedTokens must be > 0');
  checkGraceConfig(c.grace);
  if (!(c.stepsCapFactor >= 1)) throw new ConfigError('stepsCapFactor must be ≥ 1');
  if (!(c.maxShare > 0 && c.maxShare <= 1)) throw new ConfigError(`maxShare must be in (0, 1], got ${c.maxShare}`);
  if (!(c.normCapFactor > 1)) throw new ConfigError(`normCapFactor must be > 1, got ${c.normCapFactor}`);
  (['normWindow', 'normWarmup', 'tokensPerStep', 'maxStrikes'] as const).forEach(positiveInt);
  if (!(c.stepBound > 0 && Number.isFinite(c.stepBound))) throw new ConfigError(`stepBound must be a finite number > 0, got ${c.stepBound}`);
  if (!MERGE_MODES.includes(c.merge)) throw new ConfigError(`merge must be one of ${MERGE_MODES.join(', ')}, got ${String(c.merge)}`);
  makeOuterState(0, c.outer); // refuses a bad outer lr, momentum or kind now, not at the first merge
  const lrWhy = lrScheduleError(c.innerLr);
  if (lrWhy !== undefined) throw new ConfigError(`innerLr: ${lrWhy}`);
  if (!(c.minStepMs > 0)) throw new ConfigError('minStepMs must be > 0');
  if (!DOWNLINKS.includes(c.downlink)) throw new ConfigError(`downlink must be one of ${DOWNLINKS.join(', ')}, got ${String(c.downlink)}`);
  if (quantizationOf(c.downlink, c.blockSize) && !(c.blockSize >= MIN_BLOCK && c.blockSize <= MAX_BLOCK)) {
    throw new ConfigError(`a ${c.downlink} downlink needs blockSize in [${MIN_BLOCK}, ${MAX_BLOCK}], got ${c.blockSize}`);
  }
  return c;
}

/** The inner learning rate at `progress` as a fraction of its peak, in [start·peak, peak]/peak. */
export function lrShape(c: SyncConfig, progress: number): number {
  return lrAt(Math.max(0, progress), c.innerLr) / c.innerLr.peak;
}

/**
 * With merge 'centered-clip' the quorum is strict: a fragment is due only when K connected learners have
 * their steps on it, however few are connected (the relaxed quorum is min(K, connected)). The robust merge
 * holds only while the honest learners are the majority of a merge, and the relaxed quorum hands a run's
 * first merges, or any moment when few honest tabs are connected, to whoever is there: in real tabs
 * (6 digits tabs, K = 5, the 2 sign-flipping ones opened first) 25 of 122 merges had the attackers at half
 * or more of the contributors, and those merges drove the run to a held-out loss of 89; with the strict
 * quorum it ended at 0.60 (honest 0.41; docs/fault-tolerance.md §3). With K ≥ 2f + 1, a round opens with
 * an honest majority of the due learners against f attackers. A round still closes once every pulled
 * learner has answered (or at roundTimeoutMs), as in every mode: a round that merged nothing below K
 * would leave its learners' deltas growing past the norm caps, and a swarm of K whose pushes are all over
 * them would never merge again (measured: 0 merges, 142 norm-outlier refusals in real tabs). What came
 * is merged with the missing K − n votes counted as Δ = 0 (merge-round.ts absentVotes), so the attackers
 * stay a minority of K votes when pulled honest learners leave.
 */
export function strictQuorum(c: Pick<SyncConfig, 'merge'>): boolean {
  return c.merge === 'centered-clip';
}

/** The quorum a round needs with `connected` learners (≥ 1). */
export function quorumOf(c: Pick<SyncConfig, 'merge' | 'K'>, connected: number): number {
  return strictQuorum(c) ? c.K : Math.max(1, Math.min(c.K, connected));
}
