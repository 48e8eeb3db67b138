import { ConfigError } from '../result';
import type { Rng } from '../rng';

/**
 * Timing presets of the swarm simulator (docs/method.md §7). All durations are ms of simulated time.
 * - paper: the simulator's original, kind values: 100 ms steps ±10%, 5 ms latency, instant commits.
 * - browser: measured in real tabs on the 2-core development machine (3 digits tabs, WASM, batch 8,
 *   P=2, H=12, K=1; `npm run swarm`, 3 minutes, 16 samples every 10 s from 30 s to 180 s).
 */
export type TimingsName = 'paper' | 'browser';
export const TIMINGS_NAMES: readonly TimingsName[] = ['paper', 'browser'];

/** How one step's train() time scatters around its learner's median. */
export type StepScatter =
  | { kind: 'uniform'; halfWidth: number } // median × (1 ± halfWidth), uniform
  | { kind: 'lognormal'; sigma: number }; // median × exp(σ·N(0,1))

export interface Timings {
  /** Median train() time of the fastest learner (ms): what it reports in META as its step time. */
  stepMs: number;
  scatter: StepScatter;
  /** Learner loop time between two train() calls (ms): broadcasts applied, META sent, pulls read back and encoded. */
  overheadMs: number;
  /** One durable commit (ms): lognormal, median × exp(σ·N(0,1)); a median of 0 is an instant commit. */
  commit: { medianMs: number; sigma: number };
  /** One-way message latency (ms), plus a uniform extra in [0, jitterMs) that reorders messages. */
  latencyMs: number;
  jitterMs: number;
  /** When the syncer hears 'synced' for a broadcast: one latency after it is sent (the paper preset's
   * approximation), or at once when it has been handed to the channels (as the coordinator page does). */
  synced: 'after-latency' | 'on-handover';
}

export const TIMINGS: Record<TimingsName, Timings> = {
  paper: {
    stepMs: 100, // DEFAULT_QUALITY's fastest learner; the quality table spreads learners over 100–200 ms
    scatter: { kind: 'uniform', halfWidth: 0.1 },
    overheadMs: 0,
    commit: { medianMs: 0, sigma: 0 },
    latencyMs: 5,
    jitterMs: 0,
    synced: 'after-latency',
  },
  browser: {
    // Median of the 48 step-time EMAs the coordinator saw (3 learners × 16 samples): 27.3 ms; per-learner
    // medians 23.5, 26.8, 29.1 ms. The tabs share 2 cores, so all three run at the same pace: one median.
    stepMs: 27,
    // σ = log-sd of those 48 EMAs (0.41; 0.33 without one 10 s hiccup of ~100 ms steps). The report holds
    // no single-step times, so this is the run's slow drift, which is what separates two tabs' phases.
    scatter: { kind: 'lognormal', sigma: 0.4 },
    // Step period from step counters: 32.2 ms (150 s, all three learners 31.9–32.4 ms). Mean train() time
    // is 27 × e^(0.4²/2) = 29.3 ms, so the loop adds 3 ms per step (1000/stepsPerSec − stepMs per sample
    // gives a noisy 5 ms median).
    overheadMs: 3,
    // The coordinator's commit EMA (α = 0.1, strict-durability IndexedDB) sampled 16 times: median 53 ms,
    // log-sd 0.19. The EMA tracks the mean, so median = 53 × e^(−σ²/2). Single commits are not in the
    // report: σ = 0.5 is an assumption between the EMA's 0.19 and the ~0.8 independent commits would
    // need to give the EMA that log-sd.
    commit: { medianMs: 47, sigma: 0.5 },
    // Nothing measures the tab-to-tab latency: an assumption of a few ms for a WebRTC data channel over
    // loopback, 3 ms plus up to 3 ms of jitter.
    latencyMs: 3,
    jitterMs: 3,
    synced: 'on-handover',
  },
};

/** The preset named `s`, or a ConfigError listing the names. */
export function parseTimings(s: string): TimingsName {
  const name = TIMINGS_NAMES.find((n) => n === s);
  if (!name) throw new ConfigError(`unknown timings "${s}": expected one of ${TIMINGS_NAMES.join(', ')}`);
  return name;
}

/** Time from the start of one step to the next (ms): a train() time drawn around `medianMs`, plus the loop's overhead. */
export function stepPeriodMs(t: Timings, medianMs: number, rng: Rng): number {
  const s = t.scatter;
  const train = s.kind === 'uniform' ? medianMs * (1 - s.halfWidth + 2 * s.halfWidth * rng.next()) : medianMs * Math.exp(s.sigma * rng.normal());
  return train + t.overheadMs;
}

/** Duration of one commit (ms); an instant commit draws nothing, so it leaves `rng` untouched. */
export function commitMs(t: Timings, rng: Rng): number {
  return t.commit.medianMs === 0 ? 0 : t.commit.medianMs * Math.exp(t.commit.sigma * rng.normal());
}
