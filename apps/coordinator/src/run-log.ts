import { logLine, parseLog, replayLog, theta0Line, type Commit, type ParamLayout, type SyncConfig } from '@tabswarm/core';
import type { CoordinatorConfig } from './config';
import { paramsHash } from './crc32';
import { PrunedLog } from './retention';
import type { CoordinatorStatus } from './status';
import type { DurableStore } from './store';

/** One retention step moves at most this much of the log (bytes; ≈50–100 ms of serialising here). */
const PRUNE_CHUNK_BYTES = 8e6;
/** A commit refused by a full quota is retried this often, for at most this long (ms). */
const QUOTA_RETRY_MS = 2000;
const QUOTA_DEADLINE_MS = 300_000;
const isQuotaError = (e: unknown): boolean => e instanceof DOMException && e.name === 'QuotaExceededError';

/** What Verify log by replay found. */
export interface Verified { ok: boolean; entries: number; replayedHash: string; committedHash: string; detail: string }

/**
 * The coordinator page's durable commits with merge-log retention (docs/security.md "Storage"), and the
 * log's download and replay. The store does the writes (store.ts); this decides when to prune, keeps the
 * pruned pieces for download (retention.ts PrunedLog), and reports on the page's status.
 */
export class RunLog {
  readonly pruned: PrunedLog;
  /** A commit met a full quota: retention goes on, a chunk per commit, until only the log's tail is left. */
  private retentionDue = false;

  constructor(
    private readonly cfg: Pick<CoordinatorConfig, 'logTail' | 'logBudgetBytes' | 'prunedHoldBytes'>,
    private readonly status: CoordinatorStatus,
    /** Called while a commit waits for storage, so the page shows why. */
    private readonly onWait: () => void,
  ) {
    this.pruned = new PrunedLog(cfg.prunedHoldBytes);
  }

  /**
   * A commit refused because the quota is full leaves the previous commit intact (store.ts). Retention
   * then moves the log's older part out of the database, a bounded chunk at a time (retention.ts; kept
   * here and offered for download first), and the commit is tried again after each chunk, or every
   * QUOTA_RETRY_MS while the browser has not freed the space yet (it may compact its files later);
   * everything after the commit waits for it, as for any commit. Past QUOTA_DEADLINE_MS the coordinator
   * fails with the reason. Without a full quota, a commit that leaves the stored log over its budget also
   * prunes one chunk, so the log stays near the budget and no single step holds the page for long.
   */
  async commit(store: DurableStore, c: Commit): Promise<void> {
    const start = performance.now();
    for (;;) {
      try {
        await store.commit(c);
        this.status.storageWait = '';
        // A full quota asks for retention down to the tail even when the space came back by itself.
        if (this.retentionDue || store.logBytes > this.cfg.logBudgetBytes) {
          if ((await this.prune(store)) === 'nothing') this.retentionDue = false;
        }
        this.status.logBytes = store.logBytes;
        return;
      } catch (e) {
        if (!isQuotaError(e) || performance.now() - start > QUOTA_DEADLINE_MS) throw e;
      }
      this.status.quotaErrors++;
      this.retentionDue = true;
      this.status.storageWait = `commit ${c.seq} waits for storage: the quota is full (merge log pruned through commit ${this.status.prunedThrough})`;
      if ((await this.prune(store)) !== 'pruned') await new Promise((r) => setTimeout(r, QUOTA_RETRY_MS));
      this.onWait();
    }
  }

  /** One retention step (store.pruneChunk): 'refused' when even the deletion did not fit the quota. */
  private async prune(store: DurableStore): Promise<'pruned' | 'nothing' | 'refused'> {
    const part = await store.pruneChunk(this.cfg.logTail, PRUNE_CHUNK_BYTES).catch((e: unknown) => {
      if (isQuotaError(e)) return null;
      throw e;
    });
    if (part === null) return 'refused';
    if (part === undefined) return 'nothing';
    this.pruned.add(part);
    Object.assign(this.status, { prunedThrough: part.through, prunedDroppedThrough: this.pruned.droppedThrough, logBytes: store.logBytes });
    return 'pruned';
  }

  /**
   * The merge log as NDJSON: θ₀ first, then one line per commit (core replayLog reproduces the state).
   * After retention: the pruned parts this page still holds, then the stored tail; without those parts
   * (pruned before a reload), the tail alone.
   */
  async ndjson(store: DurableStore): Promise<Blob> {
    const { theta0, from, entries } = await store.log();
    const lines = entries.map((e) => `${logLine(e)}\n`);
    if ((await store.prunedThrough()) === 0) return new Blob([`${theta0Line(theta0, from)}\n`, ...lines], { type: 'application/x-ndjson' });
    return new Blob([...(this.pruned.whole() ? [this.pruned.runs()[0]!.ndjson] : []), ...lines], { type: 'application/x-ndjson' });
  }

  /**
   * Replay the durable merge log from where it starts (θ₀, or the imported or loaded state: store.ts
   * 'from') with the core and compare with the committed state: parameters and optimizer state must match
   * bit for bit (call it with the commands drained, e.g. while paused).
   */
  async verify(store: DurableStore, sync: SyncConfig, layout: ParamLayout): Promise<Verified> {
    let { theta0, from, entries } = await store.log();
    const pruned = await store.prunedThrough();
    if (pruned > 0) {
      if (!this.pruned.whole()) return { ok: false, entries: entries.length, replayedHash: '', committedHash: '', detail: `the log was pruned through commit ${pruned} and this page no longer holds all of it: replay needs the downloaded parts` };
      const parsed = parseLog(await (await this.ndjson(store)).text());
      if (!parsed.ok) return { ok: false, entries: 0, replayedHash: '', committedHash: '', detail: `${parsed.reason}: ${parsed.detail}` };
      ({ theta0, from, entries } = parsed.value);
    }
    const committed = store.state!;
    const committedHash = paramsHash(committed.theta);
    const r = replayLog(sync, layout, theta0, entries, from);
    if (!r.ok) return { ok: false, entries: entries.length, replayedHash: '', committedHash, detail: `${r.reason}: ${r.detail}` };
    const replayedHash = paramsHash(r.value.theta);
    const sameOuter = r.value.outer.every((o, p) => paramsHash(o.buf) === paramsHash(committed.outer[p]!.buf));
    const ok = replayedHash === committedHash && sameOuter && r.value.versions.join() === committed.versions.join();
    return { ok, entries: entries.length, replayedHash, committedHash, detail: ok ? 'replay reproduces the committed state bit for bit' : 'replay differs from the committed state' };
  }
}
