import { makeRng, type Rng } from '../rng';
import type { SyncCommand } from '../syncer/events';
import { CommitQueue } from './commit-queue';
import { commitMs, stepPeriodMs, TIMINGS, type Timings, type TimingsName } from './timings';

/** What a run may set over its preset (timings.ts); each is the preset's value unless given. */
export interface ClockOptions {
  seed: number;
  timings?: TimingsName;
  stepMs?: number;
  latencyMs?: number;
  jitterMs?: number;
}

/**
 * Every duration of one simulated swarm run (ms): steps, message delivery, commits and the 'synced'
 * handover, from its preset and the run's overrides (docs/method.md §7). Each method answers the
 * simulated time at which something happens, given the time `now` it starts.
 */
export class SwarmClock {
  readonly preset: Timings;
  /** Median train() time of the fastest learner. */
  readonly fastestMs: number;
  private readonly latencyMs: number;
  private readonly jitterMs: number;
  private readonly commits: CommitQueue;

  /** `steps` and `net` are the run's streams for step scatter and delivery jitter. */
  constructor(o: ClockOptions, private readonly steps: Rng, private readonly net: Rng) {
    const t = this.preset = TIMINGS[o.timings ?? 'paper'];
    this.fastestMs = o.stepMs ?? t.stepMs;
    this.latencyMs = o.latencyMs ?? t.latencyMs;
    this.jitterMs = o.jitterMs ?? t.jitterMs;
    // Its own stream: commit times never shift the draws of steps or of the network.
    const commitRng = makeRng(o.seed ^ 0xc0331);
    this.commits = new CommitQueue(() => commitMs(t, commitRng));
  }

  /** A fresh session's first step ends one median train() time, plus the loop, after it connects. */
  firstStepAt(now: number, medianMs: number): number {
    return now + medianMs + this.preset.overheadMs;
  }

  nextStepAt(now: number, medianMs: number): number {
    return now + stepPeriodMs(this.preset, medianMs, this.steps);
  }

  /** A message sent at `now` arrives after the latency and its jitter: jitter reorders messages. */
  deliverAt(now: number): number {
    return now + this.latencyMs + this.net.next() * this.jitterMs;
  }

  /** The syncer hears 'synced' for a broadcast carried out at `now`. */
  syncedAt(now: number): number {
    return this.preset.synced === 'after-latency' ? now + this.latencyMs : now;
  }

  /** When `c`, issued at `now`, is carried out: behind the commits before it (commit-queue.ts). */
  runsAt(c: SyncCommand, now: number): number {
    return this.commits.runsAt(c, now);
  }
}
