/**
 * Constants of the goodput-under-failures ("chaos") simulation of the Decoupled DiLoCo paper's chaos
 * grid (docs/method.md §7). The paper states only MTBI (1 year per chip) and the chip counts; every
 * other value below is our assumption, chosen to be defensible rather than to reproduce its digits.
 *
 * Where the table's shape comes from: the whole job sees failures at rate totalChips / MTBI, i.e.
 * 1.2M / 8760 h ≈ 137 failures per hour (one every ≈ 26 s). A system that stalls every chip for D seconds
 * per failure keeps roughly 1 / (1 + rate·D) of its time; the paper's DP row (72% → 18%) fits D ≈ 80 s
 * and its elastic row D ≈ 30 s. With the values below DP pays ≈70 s (detect + restart + replay) and
 * elastic DP ≈20 s (detect + downscale, later upscale). Decoupled DiLoCo with M learners stalls only
 * 1/M of the chips per failure, which is why it behaves like elastic DP on M× fewer chips (the paper's
 * "goodput rule"); nothing in the simulation is fitted per cell.
 */
export interface ChaosConstants {
  /** Per-chip mean time between interruptions, hours (1 year = 8760). */
  mtbiHours: number;
  /** Chips per slice, the unit a failure takes down and the unit of elastic resizing. */
  chipsPerSlice: number;
  /** Seconds from a failure until the job notices it (every system pays this). */
  detectSec: number;
  /** Seconds for a non-elastic DP restart: swap in a hot spare slice, relaunch, restore the checkpoint. */
  restartSec: number;
  /** Steps between durable checkpoints; DP replays the work since the last one after a restart. */
  checkpointSteps: number;
  /** Seconds an elastic group (elastic DP, or one Decoupled learner) stalls to drop a failed slice. */
  downscaleSec: number;
  /** Seconds an elastic group stalls to re-admit a returned slice (it copies state from a peer slice). */
  upscaleSec: number;
  /** Seconds until a failed slice is back in service (elastic systems run short-handed meanwhile). */
  recoverSec: number;
  /** Seconds per synchronous inner step with no stragglers. */
  stepSec: number;
  /** Inner steps between a Decoupled learner's syncs (H): what a learner loses if all its slices die. */
  syncSteps: number;
  /** Coefficient of variation of one slice's step time; a synchronous group waits for its slowest slice. */
  speedCv: number;
  /** Simulated wall-clock hours per cell. */
  horizonHours: number;
}

export const DEFAULT_CHAOS: Readonly<ChaosConstants> = Object.freeze({
  // The paper's chaos grid fixes MTBI per chip at one year (docs/method.md §7).
  mtbiHours: 8760,
  // Our assumption: one TPU v5e/v6e pod slice is 256 chips; the paper says failures "take down a slice".
  chipsPerSlice: 256,
  // Our assumption: a collective / heartbeat timeout of 5 missed 1 s steps (the browser heartbeat uses 5 s
  // too, docs/method.md §4).
  detectSec: 5,
  // Our assumption, and generous to DP: a 1M-chip relaunch often takes minutes; 60 s (+5 s detect +
  // ≈5 s replay) sits just under the ≈80 s per failure that the paper's DP row implies.
  restartSec: 60,
  // Our assumption: frequent in-memory (peer-RAM) snapshots as in Gemini (SOSP'23); at 1 s/step this is
  // one every 10 s, so a restart replays ≈5 s on average. Disk checkpoints every ~30 min would leave DP at
  // ≈0% goodput at 1.2M chips, where the mean gap between failures is 26 s.
  checkpointSteps: 10,
  // Our assumption: re-forming the data-parallel collective in-process without the dead slice
  // (torchft-style live reconfiguration takes seconds); no state moves, survivors hold replicas.
  downscaleSec: 5,
  // Our assumption: re-form the collective and copy parameters + optimizer state to the returned slice
  // from a peer over the datacenter network. detect + downscale + upscale = 20 s per failure, a little
  // under the ≈30 s the paper's elastic row implies.
  upscaleSec: 10,
  // Our assumption: 10 min to reboot/replace and health-check a host. Unlike DP we give elastic systems
  // no hot spare, which costs them recoverSec·chipsPerSlice / MTBI ≈ 0.5% of goodput (conservative).
  recoverSec: 600,
  // The paper quotes DP bandwidth "at 1 s step time"; only ratios of times matter here.
  stepSec: 1,
  // The paper's H: each fragment is synced every 24 inner steps (docs/method.md §4).
  syncSteps: 24,
  // Our assumption: 0.5% per-step jitter per slice; 4,700 synchronous slices then wait ≈1.7% per step.
  speedCv: 0.005,
  // 30 days: at 150k chips a cell still sees ≈12,000 failures, so seed-to-seed spread is ≲0.3 points.
  horizonHours: 720,
});
