import type { ChaosConstants } from './chaos-constants';
import type { Rng } from '../rng';
import { expectedMaxNormal } from './normal-max';

/**
 * Event-driven core of the goodput simulation. The job is a set of synchronous groups of slices: one
 * group for DP and elastic DP, M groups (learners) for Decoupled DiLoCo, whose syncer never waits
 * (K = 1 quorum + grace), so a group's stall touches no other group. Between events every group's state
 * is constant, so chip-time is booked analytically per interval: cost is O(events · groups), never
 * O(seconds), and a simulated month at 2.4M chips is ~400k events.
 */

/** Where chip failures come from: Poisson in production, scripted in hand-checked tests. */
export interface FailureSource {
  /** Absolute time (s) of the next chip failure after `now`, while `liveChips` chips can fail. */
  next(now: number, liveChips: number): number;
  /** Which of `liveSlices` live slices fails, as an index in [0, liveSlices). */
  pick(liveSlices: number): number;
}

/**
 * Chip failures as one Poisson process: each live chip fails at rate 1/MTBI, and the minimum of L
 * independent exponentials is exponential with rate L/MTBI, so the job-wide next failure is one draw.
 * Memorylessness lets the caller redraw after every event, even when L has changed; the failed slice is
 * then uniform over live slices (all slices have equal size).
 */
export function poissonFailures(c: ChaosConstants, rng: Rng): FailureSource {
  const mtbiSec = c.mtbiHours * 3600;
  return {
    next: (now, liveChips) => (liveChips > 0 && Number.isFinite(mtbiSec) ? now + rng.exponential(mtbiSec / liveChips) : Infinity),
    pick: (n) => rng.int(n),
  };
}

/** How a group reacts to losing a slice. */
export interface GroupPolicy {
  /** Slices per group; one entry per group. */
  slices: readonly number[];
  /** true: drop the slice and continue (elastic). false: stall all, swap in a spare, replay (DP). */
  elastic: boolean;
  /** Steps between durable points (checkpoint, or a learner's sync): work after it dies with the group. */
  persistSteps: number;
}

/** Chip-seconds booked by cause; they sum to allocated = slices · chipsPerSlice · horizon. */
export interface ChipTime {
  allocated: number;
  useful: number;
  stalled: number; // live chips idle in detect / restart / reconfiguration
  lost: number; // computed, then thrown away (in-flight step, replay since checkpoint, unsynced work)
  degraded: number; // slots whose slice is being repaired (elastic systems run short-handed)
  straggler: number; // live chips waiting for the slowest slice of their group each step
}

export interface ChaosRun {
  time: ChipTime;
  /** Seconds during which the global model advanced (some group running). */
  upSec: number;
  failures: number;
}

interface Group {
  slots: number;
  live: number;
  /** Running when live > 0 and t ≥ stallUntil. */
  stallUntil: number;
  /** Step-time inflation 1 + cv·E[max of live normals]. */
  strag: number;
  /** Running seconds since the last step boundary / durable point. */
  sinceStep: number;
  sincePersist: number;
}

export function runChaos(policy: GroupPolicy, c: ChaosConstants, failures: FailureSource): ChaosRun {
  const s = c.chipsPerSlice;
  const horizon = c.horizonHours * 3600;
  const stragOf = (live: number): number => 1 + c.speedCv * expectedMaxNormal(live);
  const groups: Group[] = policy.slices.map((n) => ({ slots: n, live: n, stallUntil: 0, strag: stragOf(n), sinceStep: 0, sincePersist: 0 }));
  const time: ChipTime = { allocated: 0, useful: 0, stalled: 0, lost: 0, degraded: 0, straggler: 0 };
  // recoverSec is the same for every slice, so returns come back in failure order: a FIFO suffices.
  const retAt: number[] = [];
  const retGroup: Group[] = [];
  let retHead = 0;
  let liveSlices = groups.reduce((a, g) => a + g.live, 0);
  let upSec = 0;
  let count = 0;

  // Book [t0, t1) for every group; the global model is up from the earliest moment any group runs.
  const book = (t0: number, t1: number): void => {
    const dt = t1 - t0;
    let firstRun = Infinity;
    for (const g of groups) {
      time.allocated += dt * g.slots * s;
      time.degraded += dt * (g.slots - g.live) * s;
      if (g.live === 0) continue;
      const start = Math.max(t0, g.stallUntil);
      firstRun = Math.min(firstRun, start);
      const run = Math.max(0, t1 - start);
      const chips = g.live * s;
      time.stalled += (dt - run) * chips;
      time.useful += (run * chips) / g.strag;
      time.straggler += run * chips * (1 - 1 / g.strag);
      const step = c.stepSec * g.strag;
      g.sinceStep = (g.sinceStep + run) % step;
      g.sincePersist = (g.sincePersist + run) % (step * policy.persistSteps);
    }
    upSec += Math.max(0, t1 - firstRun);
  };

  // Move `sec` running seconds of g's work from useful to lost.
  const lose = (g: Group, sec: number): void => {
    const chipSec = (sec * g.live * s) / g.strag;
    time.useful -= chipSec;
    time.lost += chipSec;
  };

  const fail = (g: Group, t: number): void => {
    const running = t >= g.stallUntil;
    if (!policy.elastic) {
      // DP: a hot spare replaces the slice, so `live` never drops; the job restarts from its checkpoint.
      // A failure during an ongoing restart is folded into it once detected (generous to DP).
      if (running) {
        lose(g, g.sincePersist);
        g.sincePersist = g.sinceStep = 0;
        g.stallUntil = t + c.detectSec + c.restartSec;
      } else g.stallUntil = Math.max(g.stallUntil, t + c.detectSec);
      return;
    }
    if (g.live === 1) {
      // The last replica dies: everything since the last durable point (checkpoint / sync) is gone.
      lose(g, g.sincePersist);
      g.sincePersist = g.sinceStep = 0;
    } else if (running) {
      lose(g, g.sinceStep); // survivors hold the state; only the step in flight is aborted
      g.sinceStep = 0;
      g.stallUntil = t + c.detectSec + c.downscaleSec;
    } else {
      // Folded into the ongoing reconfiguration once detected: pending changes are applied together.
      g.stallUntil = Math.max(g.stallUntil, t + c.detectSec);
    }
    g.live -= 1;
    g.strag = stragOf(g.live);
    liveSlices -= 1;
    retAt.push(t + c.recoverSec);
    retGroup.push(g);
  };

  const giveBack = (g: Group, t: number): void => {
    if (g.live === 0) g.stallUntil = t + c.restartSec; // relaunch from the checkpoint / syncer snapshot
    else if (t >= g.stallUntil) {
      // Upscale at the next step boundary (we neglect the < 1 step wait, so nothing is lost).
      g.stallUntil = t + c.upscaleSec;
      g.sinceStep = 0;
    } // else: joins at the end of the ongoing reconfiguration for free
    g.live += 1;
    g.strag = stragOf(g.live);
    liveSlices += 1;
  };

  let t = 0;
  let nextFail = failures.next(0, liveSlices * s);
  for (;;) {
    const nextRet = retAt[retHead] ?? Infinity;
    const tn = Math.min(nextFail, nextRet, horizon);
    book(t, tn);
    t = tn;
    if (t >= horizon) break;
    if (nextRet <= nextFail) {
      const g = retGroup[retHead];
      retHead += 1;
      if (g) giveBack(g, t);
    } else {
      let k = failures.pick(liveSlices);
      const g = groups.find((x) => (k -= x.live) < 0);
      if (g) fail(g, t);
      count += 1;
    }
    nextFail = failures.next(t, liveSlices * s);
  }
  return { time, upSec, failures: count };
}
