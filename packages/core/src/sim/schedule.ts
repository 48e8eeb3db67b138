/** Inner learning rate by the global progress clock p ∈ [0,1] (pitfall 9): linear warmup over the first
 * `warmup` fraction, then cosine decay to `floor`·peak. Indexed by merged tokens, not local steps, so a
 * late joiner does not restart its warmup. */
export function innerLr(peak: number, progress: number, warmup = 0.05, floor = 0.1): number {
  const p = Math.min(1, Math.max(0, progress));
  if (p < warmup) return (peak * (p + 1e-3)) / (warmup + 1e-3);
  const c = (p - warmup) / (1 - warmup);
  return peak * (floor + (1 - floor) * 0.5 * (1 + Math.cos(Math.PI * c)));
}
