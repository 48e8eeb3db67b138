/**
 * When a learner's hello is out and when to say it again (ms, the engine's clock). A hello is answered by a
 * snapshot; one that is lost (a lossy link, a coordinator that forgot the tab) must be said again, but not so
 * often that a slow or reloading coordinator answers a queue of them with a whole model each.
 */

/** A refusal as 'unknown-learner' this long (ms) after a hello means the hello was lost (LearnerEngine.unknown). */
export const REHELLO_MS = 1000;

/** After one hello was answered, an unanswered one is said again after HELLO_RETRY_FACTOR × the last
 * answer's wait, at least HELLO_RETRY_MIN_MS (ms), doubled for each retry since the last snapshot, and
 * never later than the hello deadline. */
export const HELLO_RETRY_FACTOR = 4;
export const HELLO_RETRY_MIN_MS = 2000;

export class HelloClock {
  /** When the hello still unanswered was said; undefined once a snapshot answered it. */
  private at: number | undefined;
  /** When the last hello was said, answered or not. */
  private lastAt: number | undefined;
  /** How long the last answered hello waited for its snapshot. */
  private rttMs: number | undefined;
  /** Hellos said since the last snapshot. */
  private said = 0;

  constructor(private readonly deadlineMs: number) {}

  /** A hello is out and no snapshot has answered it yet. */
  get out(): boolean {
    return this.at !== undefined;
  }

  /** How long the unanswered hello has been out (ms), null when none is. */
  outFor(now: number): number | null {
    return this.at === undefined ? null : now - this.at;
  }

  hello(now: number): void {
    this.at = this.lastAt = now;
    this.said++;
  }

  snapshot(now: number): void {
    if (this.at !== undefined) this.rttMs = now - this.at;
    this.at = undefined;
    this.said = 0;
  }

  /** Whether no hello was said in the last REHELLO_MS. */
  quiet(now: number): boolean {
    return this.lastAt === undefined || now - this.lastAt >= REHELLO_MS;
  }

  /**
   * Whether the unanswered hello should be said again. Until one was answered, only at the deadline: the
   * first snapshot of a large model on a slow link may take that long. After, as HELLO_RETRY_FACTOR says. A
   * hello lost on a lossy link (a resync after a refused push, docs/fault-tolerance.md §3) had held the
   * tab's pulls, and the rounds waiting for them, for the whole 15 s, where its snapshots came 40–65 ms
   * after a hello; doubling keeps a reloading coordinator's queue of hellos short.
   */
  overdue(now: number): boolean {
    if (this.at === undefined) return false;
    const retry = this.rttMs === undefined ? this.deadlineMs
      : Math.min(this.deadlineMs, Math.max(HELLO_RETRY_MIN_MS, HELLO_RETRY_FACTOR * this.rttMs) * 2 ** Math.max(0, this.said - 1));
    return now - this.at > retry;
  }
}
