/**
 * Compare swarm runs (report.json files) the way issue #9 asks: held-out loss at equal merged tokens, and
 * wall-clock seconds to a stated held-out loss. Pure, so the arithmetic is unit-tested (compare-runs.test.ts);
 * compare.ts reads the files and prints the table.
 */

/** One held-out evaluation of the coordinator: merged tokens, loss, and when (ms, the page's clock). */
export interface LossPoint { tokens: number; loss: number; at: number }

export interface RunCurve { name: string; curve: LossPoint[] }

export interface RunComparison {
  name: string;
  /** Held-out loss at `atTokens` merged tokens (linear between evaluations). */
  lossAtTokens: number;
  /** Seconds from the run's first evaluation until its loss first reached `target`; null if it never did. */
  secondsToTarget: number | null;
  /** Lowest loss the run reached. */
  bestLoss: number;
}

export interface Comparison { atTokens: number; target: number; runs: RunComparison[] }

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
 * Every run at the merged tokens all of them reached (the smallest final count), and the time each took to
 * reach `target` (default: the worst of the runs' best losses, so every run reaches it).
 */
export function compareRuns(runs: readonly RunCurve[], target?: number): Comparison {
  if (runs.length === 0 || runs.some((r) => r.curve.length < 2)) throw new Error('compare: every run needs at least two evaluations');
  const atTokens = Math.min(...runs.map((r) => r.curve.at(-1)!.tokens));
  const best = runs.map((r) => Math.min(...r.curve.map((p) => p.loss)));
  const goal = target ?? Math.max(...best);
  return {
    atTokens, target: goal,
    runs: runs.map((r, i) => ({ name: r.name, lossAtTokens: lossAtTokens(r.curve, atTokens)!, secondsToTarget: secondsToLoss(r.curve, goal), bestLoss: best[i]! })),
  };
}
