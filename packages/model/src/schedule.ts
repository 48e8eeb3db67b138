/**
 * The inner learning-rate schedule, indexed by the coordinator's global progress clock (merged tokens
 * / planned tokens, in [0, 1]) rather than by this learner's own step count, so a late joiner does not
 * restart warmup and a slow tab does not lag the schedule (pitfall §6.9).
 */

/**
 * Learning rate at global progress p:
 *   1) warmup:   p < warmupFrac       → peak · p / warmupFrac (linear from 0)
 *   2) finished: p ≥ 1                → peak · floorFrac
 *   3) otherwise cosine from peak down to peak · floorFrac over [warmupFrac, 1].
 * Defaults in §3.2: peak 1e-3, warmup ≈ 100–200 of the planned steps, floorFrac 0.1.
 */
export function lrAt(progress: number, peak: number, warmupFrac: number, floorFrac: number): number {
  if (!(Number.isFinite(progress) && progress >= 0)) throw new Error(`lrAt: progress ${progress}, want a finite number >= 0`);
  if (!(Number.isFinite(peak) && peak > 0)) throw new Error(`lrAt: peak ${peak}, want > 0`);
  if (!(warmupFrac >= 0 && warmupFrac < 1)) throw new Error(`lrAt: warmupFrac ${warmupFrac}, want [0, 1)`);
  if (!(floorFrac >= 0 && floorFrac <= 1)) throw new Error(`lrAt: floorFrac ${floorFrac}, want [0, 1]`);
  if (progress < warmupFrac) return (peak * progress) / warmupFrac;
  const floor = peak * floorFrac;
  if (progress >= 1) return floor;
  const decay = (progress - warmupFrac) / (1 - warmupFrac); // 0 → 1
  return floor + 0.5 * (1 + Math.cos(Math.PI * decay)) * (peak - floor);
}
