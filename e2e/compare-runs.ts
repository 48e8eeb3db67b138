/**
 * Compare swarm runs (report.json files) the way issue #9 asks: held-out loss at equal merged tokens and at
 * equal trained tokens (what the learners computed, merged or not), and wall-clock seconds to a stated
 * held-out loss. Pure, so the arithmetic is unit-tested (compare-runs.test.ts);
 * compare.ts reads the files and prints the table.
 */

/** One held-out evaluation of the coordinator: merged tokens, loss, and when (ms, the page's clock). */
export interface LossPoint { tokens: number; loss: number; at: number }

/** The coordinator's running totals at one report sample: tokens merged into Θ and tokens trained by learners. */
export interface Progress { merged: number; trained: number }

export interface RunCurve { name: string; curve: LossPoint[]; progress?: Progress[] }

export interface RunComparison {
  name: string;
  /** Held-out loss at `atTokens` merged tokens (linear between evaluations). */
  lossAtTokens: number;
  /** Seconds from the run's first evaluation until its loss first reached `target`; null if it never did. */
  secondsToTarget: number | null;
  /** Lowest loss the run reached. */
  bestLoss: number;
  /** Held-out loss at `atTrained` trained tokens; undefined when a run has no progress samples. */
  lossAtTrained?: number;
}

export interface Comparison { atTokens: number; atTrained?: number; target: number; runs: RunComparison[] }

/** Loss at `tokens` merged tokens, linear between the two evaluations around it; undefined past the curve's end. */
export function lossAtTokens(curve: readonly LossPoint[], tokens: number): number | undefined {
  for (let i = 1; i < curve.length; i++) {
    const a = curve[i - 1]!, b = curve[i]!;
    if (tokens >= a.tokens && tokens <= b.tokens) return b.tokens === a.tokens ? b.loss : a.loss + ((b.loss - a.loss) * (tokens - a.tokens)) / (b.tokens - a.tokens);
  }
  return curve.length > 0 && curve[0]!.tokens === tokens ? curve[0]!.loss : undefined;
}

/** Seconds from the first evaluation to the first one at or below `target`; null if none. */
export function secondsToLoss(curve: readonly LossPoint[], target: number): number | null {
  const hit = curve.find((p) => p.loss <= target);
  return hit && curve.length > 0 ? (hit.at - curve[0]!.at) / 1000 : null;
}

/**
 * The loss curve re-indexed by trained tokens: each evaluation's merged count is mapped to the trained count
 * at the same moment, linear between the samples around it (both totals only grow, and (0, 0) starts every
 * run). Evaluations past the last sample are dropped rather than extrapolated.
 */
export function trainedCurve(curve: readonly LossPoint[], progress: readonly Progress[]): LossPoint[] {
  const pts = [{ merged: 0, trained: 0 }, ...progress];
  const out: LossPoint[] = [];
  for (const p of curve) {
    for (let i = 1; i < pts.length; i++) {
      const a = pts[i - 1]!, b = pts[i]!;
      if (p.tokens < a.merged || p.tokens > b.merged) continue;
      const f = b.merged === a.merged ? 1 : (p.tokens - a.merged) / (b.merged - a.merged);
      out.push({ ...p, tokens: a.trained + f * (b.trained - a.trained) });
      break;
    }
  }
  return out;
}

/**
 * Every run at `at` merged (and trained) tokens, by default the count all of them reached (the smallest final
 * count), and the time each took to reach `target` (default: the worst of the runs' best losses, so every run
 * reaches it). At equal trained tokens `at` is capped at what every run's samples cover.
 */
export function compareRuns(runs: readonly RunCurve[], target?: number, at?: number): Comparison {
  if (runs.length === 0 || runs.some((r) => r.curve.length < 2)) throw new Error('compare: every run needs at least two evaluations');
  const reached = Math.min(...runs.map((r) => r.curve.at(-1)!.tokens));
  if (at !== undefined && !(at >= 0 && at <= reached)) throw new Error(`compare: --at ${at} is past the ${reached} merged tokens every run reached`);
  const atTokens = at ?? reached;
  const best = runs.map((r) => Math.min(...r.curve.map((p) => p.loss)));
  const goal = target ?? Math.max(...best);
  // Equal trained tokens only when every run has the samples to say it, and at the count all of them reached.
  const byTrained = runs.every((r) => r.progress !== undefined) ? runs.map((r) => trainedCurve(r.curve, r.progress!)) : undefined;
  const trainedReached = byTrained && byTrained.every((c) => c.length >= 2) ? Math.min(...byTrained.map((c) => c.at(-1)!.tokens)) : undefined;
  const atTrained = trainedReached === undefined ? undefined : Math.min(at ?? trainedReached, trainedReached);
  return {
    atTokens, target: goal, ...(atTrained === undefined ? {} : { atTrained }),
    runs: runs.map((r, i) => ({
      name: r.name, lossAtTokens: lossAtTokens(r.curve, atTokens)!, secondsToTarget: secondsToLoss(r.curve, goal), bestLoss: best[i]!,
      ...(atTrained === undefined ? {} : { lossAtTrained: lossAtTokens(byTrained![i]!, atTrained)! }),
    })),
  };
}
