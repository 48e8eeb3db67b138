import type { SyncEvent } from '@tabswarm/core';

/**
 * What a paused (chaos) or rebasing coordinator holds back, and how it is let go (docs/fault-tolerance.md §4).
 *
 * Ticks are not held. A tick is the clock, not a message: held and replayed, each one read the release
 * time while the learner messages behind it in the queue still waited, so the first of them found every
 * learner silent for the whole pause and dropped those whose own messages came later in the queue (after
 * a 40 s pause, one of two tabs dropped and its 1,900 held METAs refused as from an unknown learner), and
 * timed out rounds whose pushes were waiting behind it. Released events are restamped with the release
 * time, in arrival order, and one tick follows them, so the syncer's timers run once it has heard all.
 */
export class HeldEvents {
  private readonly events: SyncEvent[] = [];
  /** When the first learner message held by a pause arrived (ms). */
  private since: number | undefined;

  get size(): number {
    return this.events.length;
  }

  /** Holds `ev`; `downtime`: a pause, during which learners wait on a coordinator that commits nothing. */
  hold(ev: SyncEvent, downtime: boolean): void {
    if (ev.kind === 'tick') return;
    if (downtime && ev.kind === 'message') this.since ??= ev.now;
    this.events.push(ev);
  }

  /** Everything held, stamped `now`, then a tick; and how long (ms) the first learner message held waited. */
  release(now: number): { events: SyncEvent[]; waitedMs: number } {
    const waitedMs = this.since === undefined ? 0 : now - this.since;
    this.since = undefined;
    const events = this.events.splice(0).map((ev) => ({ ...ev, now }));
    if (events.length > 0) events.push({ kind: 'tick', now });
    return { events, waitedMs };
  }
}
