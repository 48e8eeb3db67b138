import { waitsForCommit, type SyncCommand } from '../syncer/events';

/**
 * When the coordinator page carries out each syncer command (docs/method.md §7). A commit is a durable
 * write that takes time; every later command waits until it has completed (write-ahead order: nobody
 * hears of a version that could still be lost), except a pull, which reveals no state. Commits complete
 * one after another, in the order issued. Commands that are not commits take no time here: their cost is
 * the network's latency.
 */
export class CommitQueue {
  /** Simulated time (ms) at which the last commit issued so far completes. */
  private freeAt = 0;

  /** `commitMs` draws the duration of one commit (ms). */
  constructor(private readonly commitMs: () => number) {}

  /**
   * The time (ms) at which `c`, issued at `now`, runs: for a commit, when its write completes; for any
   * other command, `now` or, behind an unfinished commit, when that commit completes.
   */
  runsAt(c: SyncCommand, now: number): number {
    if (c.kind === 'commit') {
      const ms = this.commitMs();
      this.freeAt = Math.max(now, this.freeAt) + ms;
      return this.freeAt;
    }
    return waitsForCommit(c) ? Math.max(now, this.freeAt) : now;
  }
}
