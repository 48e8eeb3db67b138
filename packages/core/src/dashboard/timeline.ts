/**
 * The coordinator's history for its plots and the swarm report: one point per period with the merged
 * tokens, goodput, contributors per merge and bytes per second over that period, and each learner's
 * merged tokens. Memory is bounded: past `maxPoints` every other point is dropped and the period
 * doubles, so an hour-long run keeps its whole shape at a coarser step.
 */
export interface TimelineInput {
  /** The coordinator's clock, ms (performance.now() in the page). */
  nowMs: number;
  mergedTokens: number;
  /** Merged / trained tokens so far (null before anything was trained). */
  goodput: number | null;
  merges: number;
  /** Contributors summed over the merges so far. */
  contributorsTotal: number;
  bytesIn: number;
  bytesOut: number;
  learners: ReadonlyArray<{ id: string; tokens: number }>;
}

export interface TimelinePoint {
  /** Seconds on the coordinator's clock. */
  s: number;
  mergedTokens: number;
  /** Percent, cumulative (null before anything was trained). */
  goodputPct: number | null;
  /** Mean contributors of the merges that closed in this period (null: none closed). */
  contributors: number | null;
  /** kB/s received and sent over this period (1 kB = 1000 bytes). */
  inKBps: number;
  outKBps: number;
  /** Merged tokens per learner id, cumulative. */
  learners: Record<string, number>;
}

export class Timeline {
  readonly points: TimelinePoint[] = [];
  private last: TimelineInput | undefined;

  constructor(private periodMs = 2000, private readonly maxPoints = 900) {
    if (!(periodMs > 0) || !(maxPoints >= 2)) throw new Error(`Timeline: period ${periodMs} ms, ${maxPoints} points; want > 0 and >= 2`);
  }

  /** Call as often as you like: a point is taken when a period has passed since the last one. */
  offer(x: TimelineInput): boolean {
    const p = this.last;
    if (p !== undefined && x.nowMs - p.nowMs < this.periodMs) return false;
    const dt = p === undefined ? 0 : (x.nowMs - p.nowMs) / 1000;
    const merges = x.merges - (p?.merges ?? 0);
    this.points.push({
      s: x.nowMs / 1000,
      mergedTokens: x.mergedTokens,
      goodputPct: x.goodput === null ? null : 100 * x.goodput,
      contributors: merges > 0 ? (x.contributorsTotal - (p?.contributorsTotal ?? 0)) / merges : null,
      inKBps: dt > 0 ? (x.bytesIn - p!.bytesIn) / 1000 / dt : 0,
      outKBps: dt > 0 ? (x.bytesOut - p!.bytesOut) / 1000 / dt : 0,
      learners: Object.fromEntries(x.learners.map((l) => [l.id, l.tokens])),
    });
    this.last = x;
    if (this.points.length > this.maxPoints) {
      const kept = this.points.filter((_, i) => i % 2 === 0);
      this.points.splice(0, this.points.length, ...kept);
      this.periodMs *= 2;
    }
    return true;
  }
}
