import { applyCommit, copyOuterState, gather, logLine, scatter, theta0Line, type Commit, type DurableState, type Fragment, type LogFrom, type MergeLogEntry } from '@tabswarm/core';
import { crc32 } from './crc32';
import { entryBytes, nextChunk, type PrunedPart } from './retention';

/**
 * The coordinator's durable state in IndexedDB (docs/fault-tolerance.md §2). One database per run:
 *  - 'state'  key 'meta': counters, versions, dedupe table, epoch, one CRC per fragment record;
 *             key 'incarnation': the last coordinator incarnation that opened this run;
 *             key 'theta0': the initial parameters (with the log, they replay the run);
 *             key 'from': for a run rebased on a model file or a saved state, the versions and outer
 *             state it started from with θ₀ (absent: version 0 and zero momentum, a new run);
 *  - 'frags'  key p: fragment p's parameters and outer-optimizer state.
 *  - 'log'    key commit seq: the merge-log entry (with payloads) that made that commit; retention
 *             (pruneChunk, retention.ts) keeps a tail of it, the committed state being the checkpoint it
 *             starts from; 'state' key 'prunedThrough' says which commits left (offered for download
 *             first) and key 'logBytes' what the stored entries cost (retention.ts entryBytes).
 * A commit writes its fragment record, the meta record and the log entry in ONE transaction with
 * durability 'strict': it completes only once the data is on disk, and an aborted or torn transaction
 * leaves the previous commit intact (IndexedDB transactions are atomic, so no A/B slot scheme is
 * needed). The CRCs catch corruption at rest: a state that fails them is refused, never loaded.
 */
const COMMIT_DEADLINE_MS = 10_000;
/** Entries read per retention step at most, before chunkLength keeps what fits its byte bound. */
const CHUNK_ENTRIES = 32;

interface Meta {
  layoutHash: string;
  epoch: number; commitSeq: number; versions: number[]; globalStep: number; mergedTokens: number; nextFragment: number;
  dedupe: DurableState['dedupe'];
  /** The norm-cap windows (absent in runs stored before they were durable: those restore cold). */
  norms?: DurableState['norms'];
  crcs: number[];
}
interface FragRecord { values: Float32Array; buf: Float32Array; acc: Float32Array | null; count: number }

export class DurableStore {
  private mirror: DurableState | undefined;
  private crcs: number[] = [];
  /** What the stored log entries cost (bytes, retention.ts); written with every commit and prune. */
  private bytes = 0;

  private constructor(private readonly db: IDBDatabase, private readonly fragments: readonly Fragment[], private readonly layoutHash: string) {}

  static async open(runId: string, fragments: readonly Fragment[], layoutHash: string): Promise<DurableStore> {
    const db = await deadline(new Promise<IDBDatabase>((resolve, reject) => {
      const req = indexedDB.open(`tabswarm-run-${runId}`, 1);
      req.onupgradeneeded = () => { for (const s of ['state', 'frags', 'log']) req.result.createObjectStore(s); };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error ?? new Error('indexedDB.open failed'));
      req.onblocked = () => reject(new Error('the run database is held open by an older version of this page'));
    }), 'open the run database');
    return new DurableStore(db, fragments, layoutHash);
  }

  /** The last incarnation that opened this run (0: none). */
  async lastIncarnation(): Promise<number> {
    return (await this.get<number>('state', 'incarnation')) ?? 0;
  }

  /** A new incarnation number, made durable before this coordinator says anything (fencing epoch). */
  async nextIncarnation(): Promise<number> {
    const last = await this.lastIncarnation();
    await this.write((tx) => tx.objectStore('state').put(last + 1, 'incarnation'));
    return last + 1;
  }

  /**
   * The operator restarts the run from θ₀: the next incarnation is above `epoch` (the one this profile
   * recorded for the run, which the learners hold at most, so they accept its weights) and the stored
   * state is cleared.
   */
  async restartAbove(epoch: number): Promise<void> {
    await this.write((tx) => {
      for (const s of ['frags', 'log']) tx.objectStore(s).clear();
      tx.objectStore('state').clear();
      tx.objectStore('state').put(epoch, 'incarnation');
    });
    this.mirror = undefined;
    this.bytes = 0;
  }

  /** The last committed state, or undefined for a new run. Throws when the stored state is corrupt. */
  async load(): Promise<{ state: DurableState; theta0: Float32Array } | undefined> {
    const meta = await this.get<Meta>('state', 'meta');
    const theta0 = await this.get<Float32Array>('state', 'theta0');
    if (!meta || !theta0) return undefined;
    if (meta.layoutHash !== this.layoutHash) throw new Error(`stored run is for model ${meta.layoutHash}, this page has ${this.layoutHash}`);
    const theta = Float32Array.from(theta0);
    const outer = [];
    for (const [p, f] of this.fragments.entries()) {
      const r = await this.get<FragRecord>('frags', p);
      if (!r || crcOf(r) !== meta.crcs[p]) throw new Error(`stored fragment ${p} fails its checksum: refusing a corrupt state`);
      scatter(theta, f, r.values);
      outer.push({ buf: r.buf, acc: r.acc, count: r.count });
    }
    this.crcs = [...meta.crcs];
    // Absent in runs stored before retention measured the log: it is counted from here on (a full quota
    // still prunes it).
    this.bytes = (await this.get<number>('state', 'logBytes')) ?? 0;
    const { layoutHash: _h, crcs: _c, ...counters } = meta;
    this.mirror = { ...counters, theta, outer };
    return { state: this.mirror, theta0 };
  }

  /**
   * First write of a new run: θ₀, every fragment and the starting state, in one strict transaction; with
   * `rebased` (a run started from a model file) the versions and outer state it starts at too.
   */
  async init(state: DurableState, rebased = false): Promise<void> {
    await this.replaceWith(state, rebased, () => undefined);
  }

  /**
   * A loaded state file or model file becomes the run's new base: θ₀ is replaced, the versions and outer
   * state it holds are kept beside it (the log replays from them), and the old log is cleared with it, all
   * in the one transaction: a rebase that fails (a full disk, a refused request) leaves the run as it was, log included.
   * With `incarnation` (a database found gone: the epoch this profile recorded for the run) the next one is above it,
   * as restartAbove makes it, so learners take the loaded state.
   */
  async rebase(state: DurableState, incarnation?: number): Promise<void> {
    await this.replaceWith(state, true, (tx) => {
      if (incarnation !== undefined) tx.objectStore('state').put(incarnation, 'incarnation');
      tx.objectStore('log').clear();
      tx.objectStore('state').delete('prunedThrough');
      tx.objectStore('state').put(0, 'logBytes');
    });
    this.bytes = 0;
  }

  /** θ₀, the fragments and the meta record of `state`; the mirror follows only once they are on disk. */
  private async replaceWith(state: DurableState, rebased: boolean, also: (tx: IDBTransaction) => void): Promise<void> {
    const mirror = { ...state, theta: Float32Array.from(state.theta), outer: state.outer.map(copyOuterState) };
    const recs = this.fragments.map((f, p) => fragRecord(f, mirror, p));
    const crcs = recs.map(crcOf);
    await this.write((tx) => {
      also(tx);
      tx.objectStore('state').put(Float32Array.from(state.theta), 'theta0');
      if (rebased) tx.objectStore('state').put({ versions: [...state.versions], outer: state.outer.map(copyOuterState) } satisfies LogFrom, 'from');
      else tx.objectStore('state').delete('from');
      recs.forEach((r, p) => tx.objectStore('frags').put(r, p));
      tx.objectStore('state').put(metaOf(mirror, this.layoutHash, crcs), 'meta');
    });
    this.mirror = mirror;
    this.crcs = crcs;
  }

  /** Write one commit durably. Resolves only after the transaction completed with strict durability. */
  async commit(c: Commit): Promise<void> {
    const d = this.mirror;
    if (!d) throw new Error('store not initialised');
    // The mirror is what the next commit builds on: if this write fails (QuotaExceededError, a deadline),
    // it must again equal the disk, which still holds the previous commit (the transaction aborted whole).
    const f = this.fragments[c.fragment]!;
    const { theta: _t, outer: _o, ...counters } = d;
    const undo = { values: gather(d.theta, f), outer: d.outer[c.fragment]!, version: d.versions[c.fragment]!, crc: this.crcs[c.fragment]!, counters };
    applyCommit(d, c, this.fragments); // refuses a gap: commits are written in order, +1 each
    const rec: FragRecord = { values: c.values, buf: c.outer.buf, acc: c.outer.acc, count: c.outer.count };
    this.crcs[c.fragment] = crcOf(rec);
    const bytes = this.bytes + entryBytes(c.entry);
    try {
      await this.write((tx) => {
        tx.objectStore('frags').put(rec, c.fragment);
        tx.objectStore('state').put(metaOf(d, this.layoutHash, this.crcs), 'meta');
        tx.objectStore('log').put(c.entry, c.seq);
        tx.objectStore('state').put(bytes, 'logBytes');
      });
      this.bytes = bytes;
    } catch (e) {
      scatter(d.theta, f, undo.values);
      d.outer[c.fragment] = undo.outer;
      d.versions[c.fragment] = undo.version;
      this.crcs[c.fragment] = undo.crc;
      Object.assign(d, undo.counters, { versions: d.versions });
      throw e;
    }
  }

  /**
   * Merge-log retention, one bounded step: the oldest stored entries, as many as fit in `maxBytes` (at
   * least one) and never any of the last `keepLast`, leave the database. They are read and returned as
   * NDJSON (θ₀ first when nothing was pruned before, so the parts concatenated are the whole log) before
   * they are deleted, so the page offers them for download; the committed state is the checkpoint the
   * tail continues from. Undefined when there is nothing to prune.
   */
  async pruneChunk(keepLast: number, maxBytes: number): Promise<PrunedPart | undefined> {
    const pruned = await this.prunedThrough();
    const last = (this.mirror?.commitSeq ?? 0) - keepLast;
    if (last <= pruned) return undefined;
    // The chunk is named by the keys read, not counted from prunedThrough + 1: after a state file saved
    // at commit N the log holds N + 1 on with nothing pruned. Recording prunedThrough = N at the rebase
    // instead would say that log lost commits it never had: its download would lose the θ₀ line and
    // Verify log by replay would refuse it (run-log.ts), and databases rebased before have no such record.
    const read = await this.range(pruned + 1, last, CHUNK_ENTRIES);
    const chunk = nextChunk(pruned, read.keys, read.entries, maxBytes);
    if (!chunk) return undefined;
    const { from, through, head, entries } = chunk;
    const ndjson = new Blob([...(head ? [`${await this.headLine()}\n`] : []), ...entries.map((e) => `${logLine(e)}\n`)], { type: 'application/x-ndjson' });
    const bytes = Math.max(0, this.bytes - entries.reduce((s, e) => s + entryBytes(e), 0));
    await this.write((tx) => {
      tx.objectStore('log').delete(IDBKeyRange.bound(from, through));
      tx.objectStore('state').put(through, 'prunedThrough');
      tx.objectStore('state').put(bytes, 'logBytes');
    });
    this.bytes = bytes;
    return { from, through, head, ndjson };
  }

  /** What the stored merge-log entries cost, bytes (retention.ts entryBytes). */
  get logBytes(): number {
    return this.bytes;
  }

  /** The last commit whose log entry was pruned (0: the log is whole). */
  async prunedThrough(): Promise<number> {
    return (await this.get<number>('state', 'prunedThrough')) ?? 0;
  }

  /** At most `count` log keys and their entries from `from` to `through`, oldest first, in one read. */
  private range(from: number, through: number, count: number): Promise<{ keys: number[]; entries: MergeLogEntry[] }> {
    return deadline(new Promise<{ keys: number[]; entries: MergeLogEntry[] }>((resolve, reject) => {
      const log = this.db.transaction('log', 'readonly').objectStore('log');
      const bound = IDBKeyRange.bound(from, through);
      const keys = log.getAllKeys(bound, count), entries = log.getAll(bound, count);
      // Requests in a transaction complete in order: the keys are in once the entries are.
      entries.onsuccess = () => resolve({ keys: keys.result as number[], entries: entries.result as MergeLogEntry[] });
      for (const r of [keys, entries]) r.onerror = () => reject(r.error ?? new Error('reading the log failed'));
    }), 'read the merge log');
  }

  /** Where the log starts: θ₀, with `from` for a rebased run. */
  private async logStart(): Promise<{ theta0: Float32Array; from?: LogFrom }> {
    const theta0 = (await this.get<Float32Array>('state', 'theta0')) ?? new Float32Array(0);
    const from = await this.get<LogFrom>('state', 'from');
    return { theta0, ...(from && { from }) };
  }

  /** The log's first NDJSON line (core log-format.ts). */
  private async headLine(): Promise<string> {
    const { theta0, from } = await this.logStart();
    return theta0Line(theta0, from);
  }

  /** Where the log starts and every merge-log entry still stored, in commit order (for the NDJSON download and replay). */
  async log(): Promise<{ theta0: Float32Array; from?: LogFrom; entries: MergeLogEntry[] }> {
    const start = await this.logStart();
    const entries = await deadline(new Promise<MergeLogEntry[]>((resolve, reject) => {
      const req = this.db.transaction('log', 'readonly').objectStore('log').getAll();
      req.onsuccess = () => resolve(req.result as MergeLogEntry[]);
      req.onerror = () => reject(req.error ?? new Error('reading the log failed'));
    }), 'read the merge log');
    return { ...start, entries };
  }

  get state(): DurableState | undefined {
    return this.mirror;
  }

  private get<T>(store: string, key: IDBValidKey): Promise<T | undefined> {
    return deadline(new Promise<T | undefined>((resolve, reject) => {
      const req = this.db.transaction(store, 'readonly').objectStore(store).get(key);
      req.onsuccess = () => resolve(req.result as T | undefined);
      req.onerror = () => reject(req.error ?? new Error(`reading ${store} failed`));
    }), `read ${store}`);
  }

  /**
   * One strict read-write transaction over every store. Past the deadline it is aborted, so a late one
   * cannot land after its caller moved on; one already committing cannot be, and its error says the
   * outcome is unknown (`unknownOutcome`: the caller stops, and a reload finds whichever state is on disk).
   */
  private write(fill: (tx: IDBTransaction) => void): Promise<void> {
    let tx: IDBTransaction | undefined;
    return deadline(new Promise<void>((resolve, reject) => {
      tx = this.db.transaction(['state', 'frags', 'log'], 'readwrite', { durability: 'strict' });
      tx.oncomplete = () => resolve();
      tx.onabort = () => reject(tx!.error ?? new Error('commit transaction aborted'));
      tx.onerror = () => reject(tx!.error ?? new Error('commit transaction failed'));
      // A request that throws as it is made (DataCloneError, a closing database) must not leave the
      // requests before it to commit alone: the transaction is all or nothing.
      try {
        fill(tx);
      } catch (e) {
        tx.abort();
        reject(e);
      }
    }), 'commit').catch((e: unknown) => {
      if ((e as { timedOut?: boolean }).timedOut) {
        try {
          tx?.abort();
        } catch {
          throw Object.assign(new Error(`${(e as Error).message}, and it was already committing: its outcome is unknown`), { unknownOutcome: true });
        }
      }
      throw e;
    });
  }
}

function metaOf(d: DurableState, layoutHash: string, crcs: readonly number[]): Meta {
  const { theta: _t, outer: _o, ...counters } = d;
  return { ...counters, layoutHash, crcs: [...crcs] };
}

function fragRecord(f: Fragment, d: DurableState, p: number): FragRecord {
  const o = d.outer[p]!;
  return { values: gather(d.theta, f), buf: Float32Array.from(o.buf), acc: o.acc && Float32Array.from(o.acc), count: o.count };
}

function crcOf(r: FragRecord): number {
  let c = crc32(new Uint8Array(r.values.buffer, r.values.byteOffset, r.values.byteLength));
  c = crc32(new Uint8Array(r.buf.buffer, r.buf.byteOffset, r.buf.byteLength), c);
  if (r.acc) c = crc32(new Uint8Array(r.acc.buffer, r.acc.byteOffset, r.acc.byteLength), c);
  return (c ^ r.count) >>> 0;
}

function deadline<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(Object.assign(new Error(`IndexedDB: ${what} took over ${COMMIT_DEADLINE_MS} ms`), { timedOut: true })), COMMIT_DEADLINE_MS); });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}
