import type { MergeLogEntry } from '@tabswarm/core';

/**
 * Merge-log retention in small steps (docs/fault-tolerance.md §2). The log keeps every push's payload so
 * that a replay rebuilds the run bit for bit; in data-parallel runs that is 3 fp32 model copies per step
 * (≈1.2 MB for digits), so a 5-minute run stores ≈1.6 GB. Measured before this module: retention ran only
 * when a commit met a full quota, and then read, serialised and deleted the whole log at once (1,051 entries,
 * ≈1.3 GB): the page was blocked for 66 s and every learner counted as gone. Now the stored log is kept
 * under a byte budget and pruned a bounded chunk per transaction, so the page keeps answering in between.
 */

/** Bytes one entry costs in the database: its payloads plus a fixed allowance for the rest (ids, numbers). */
export function entryBytes(e: MergeLogEntry): number {
  return 256 + e.contributors.reduce((s, k) => s + 128 + k.payload.byteLength, 0);
}

/** How many of `entries` (oldest first) one chunk takes: as many as fit in `maxBytes`, at least one. */
export function chunkLength(entries: readonly MergeLogEntry[], maxBytes: number): number {
  let bytes = 0, n = 0;
  for (const e of entries) {
    bytes += entryBytes(e);
    if (n > 0 && bytes > maxBytes) break;
    n++;
  }
  return n;
}

/**
 * A pruned piece of the log as NDJSON, commits `from` to `through`; `head`: the first piece pruned from
 * this log, so its NDJSON opens with the θ₀ line (the log starts at commit 1, or at N + 1 for a run
 * rebased on a state file saved at commit N).
 */
export interface PrunedPart { from: number; through: number; head: boolean; ndjson: Blob }

/**
 * One retention step's piece, from the log's keys (commit seqs) and entries read oldest first after
 * `prunedThrough`: as many as chunkLength takes, named by their own keys. Not `prunedThrough + 1` on:
 * a log rebased on a state file saved at commit N holds keys from N + 1 with nothing pruned (store.ts
 * rebase), and counting from 1 there named, deleted and counted commits that were not in the chunk.
 */
export function nextChunk(prunedThrough: number, keys: readonly number[], entries: readonly MergeLogEntry[], maxBytes: number): { from: number; through: number; head: boolean; entries: MergeLogEntry[] } | undefined {
  const n = chunkLength(entries, maxBytes);
  if (n === 0) return undefined;
  return { from: keys[0]!, through: keys[n - 1]!, head: prunedThrough === 0, entries: entries.slice(0, n) };
}

/**
 * The pruned pieces this page still holds for download and replay, oldest first. Memory is bounded: past
 * `maxBytes` the oldest pieces are let go (the page says which commits were never downloaded), because a
 * coordinator tab that grows without limit is the bigger loss. The model is never at stake here: every
 * pruned commit is already in the committed state, the checkpoint the stored tail continues from.
 */
export class PrunedLog {
  readonly parts: PrunedPart[] = [];
  /** Last commit of a piece let go unsaved (0: none). */
  droppedThrough = 0;
  private held = 0;

  constructor(private readonly maxBytes: number) {}

  add(p: PrunedPart): void {
    this.parts.push(p);
    this.held += p.ndjson.size;
    while (this.held > this.maxBytes && this.parts.length > 1) {
      const old = this.parts.shift()!;
      this.held -= old.ndjson.size;
      this.droppedThrough = old.through;
    }
  }

  get heldBytes(): number { return this.held; }

  /** The held pieces joined into runs of consecutive commits: one download each. */
  runs(): PrunedPart[] {
    const out: Array<{ from: number; through: number; head: boolean; blobs: Blob[] }> = [];
    for (const p of this.parts) {
      const last = out.at(-1);
      if (last && last.through + 1 === p.from) { last.through = p.through; last.blobs.push(p.ndjson); } else out.push({ from: p.from, through: p.through, head: p.head, blobs: [p.ndjson] });
    }
    return out.map((r) => ({ from: r.from, through: r.through, head: r.head, ndjson: new Blob(r.blobs, { type: 'application/x-ndjson' }) }));
  }

  /** True when the held pieces cover the log from its start (the θ₀ line) without a gap, so a replay can start there. */
  whole(): boolean {
    const r = this.runs();
    return r.length === 1 && r[0]!.head;
  }
}
