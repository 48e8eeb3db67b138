/**
 * Reading a held-out loss curve at equal committed (merged) tokens, the axis docs/fault-tolerance.md §6 compares
 * runs on. Used by the simulator's churn study and by the browser churn spec.
 */
export interface LossPoint {
  /** Tokens merged into the global model when it was evaluated. */
  merged: number;
  loss: number;
}

/** Mean held-out loss over the last 20% of `merged` committed tokens (5 points, interpolated): one
 * evaluation alone swings with the latest merge. */
export function lossNear(curve: readonly LossPoint[], merged: number): number {
  return [0.8, 0.85, 0.9, 0.95, 1].reduce((s, f) => s + lossAtMerged(curve, f * merged), 0) / 5;
}

/** Held-out loss at `merged` committed tokens, linearly interpolated between evaluations; the last
 * evaluation's loss beyond the curve's end. */
export function lossAtMerged(curve: readonly LossPoint[], merged: number): number {
  const i = curve.findIndex((p) => p.merged >= merged);
  if (i < 0) return curve.at(-1)?.loss ?? Number.NaN;
  if (i === 0) return curve[0]!.loss;
  const a = curve[i - 1]!, b = curve[i]!;
  return a.loss + ((b.loss - a.loss) * (merged - a.merged)) / Math.max(1, b.merged - a.merged);
}
