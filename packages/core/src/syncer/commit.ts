import { scatter, type Fragment } from '../fragments';
import type { OuterState } from '../outer';
import { U32_MAX } from '../protocol/messages';
import { DedupeTable, type DedupeRow } from './dedupe';
import type { MergeLogEntry } from './events';

/**
 * One committed outer step (docs/fault-tolerance.md §2): everything that changes when fragment p merges,
 * written in one durable transaction before any ack or broadcast about it leaves the coordinator.
 * `seq` counts commits: it goes up by exactly 1 per commit, across reloads.
 */
export interface Commit {
  seq: number;
  epoch: number;
  fragment: number;
  version: number;
  /** Θ_p after the outer step, and the fragment's optimizer state after it. */
  values: Float32Array;
  outer: OuterState;
  globalStep: number;
  mergedTokens: number;
  nextFragment: number;
  /** The fragment's norm-cap window after this merge (guards.ts RunningMedian), oldest first. */
  norms: number[];
  /** The dedupe rows this merge adds: its contributors', less those of a session its learner has since
   * left for a new one (close-round.ts ownSession), whose rows they would erase. */
  dedupe: DedupeRow[];
  /** The merge-log line, with the contributions' payloads so that the log alone replays the run. */
  entry: MergeLogEntry;
}

/** The coordinator's durable state: the last commit applied on top of the initial model. */
export interface DurableState {
  epoch: number;
  commitSeq: number;
  theta: Float32Array;
  outer: OuterState[];
  versions: number[];
  globalStep: number;
  mergedTokens: number;
  nextFragment: number;
  dedupe: DedupeRow[];
  /** Each fragment's norm-cap window (guards.ts); absent in states written before it was durable. */
  norms?: number[][];
}

export function initialDurable(theta: Float32Array, outer: OuterState[], epoch: number): DurableState {
  return { epoch, commitSeq: 0, theta: Float32Array.from(theta), outer: outer.map(copyOuter), versions: outer.map(() => 0), globalStep: 0, mergedTokens: 0, nextFragment: 0, dedupe: [], norms: outer.map(() => []) };
}

/**
 * Why the wire could not carry a state's counters, or undefined when it can: the global step, the versions
 * and a dedupe row's round, seq and session go out in u32 fields (snapshot, broadcast, ack; protocol/encode.ts),
 * a row's fragment in an ack, merged tokens as the finite progress of every snapshot and broadcast.
 */
export function unsendable(d: DurableState, P: number): string | undefined {
  const u32 = (v: number): boolean => Number.isInteger(v) && v >= 0 && v <= U32_MAX;
  if (!u32(d.globalStep)) return `global step ${d.globalStep} is not an integer from 0 to ${U32_MAX}`;
  const p = d.versions.findIndex((v) => !(Number.isInteger(v) && v >= 0 && v <= d.globalStep));
  if (p >= 0) return `fragment ${p} is at version ${d.versions[p]}, not an integer from 0 to the global step ${d.globalStep}`;
  if (!(Number.isFinite(d.mergedTokens) && d.mergedTokens >= 0)) return `merged tokens ${d.mergedTokens}, not a finite number >= 0 (the progress clock)`;
  for (const r of d.dedupe) {
    if (![r.round, r.seq, r.session].every(u32)) return `dedupe row of ${r.id}: round ${r.round}, seq ${r.seq}, session ${r.session}, want integers from 0 to ${U32_MAX}`;
    if (!(Number.isInteger(r.fragment) && r.fragment >= 0 && r.fragment < P)) return `dedupe row of ${r.id}: fragment ${r.fragment} is outside [0, ${P})`;
  }
  return undefined;
}

/**
 * Apply a commit to a durable state in place: what a store does inside its transaction. Refuses a commit
 * that is not the next one (a gap or a replay would corrupt the state), so a store can never skip one.
 */
export function applyCommit(d: DurableState, c: Commit, fragments: readonly Fragment[]): void {
  if (c.seq !== d.commitSeq + 1) throw new RangeError(`commit ${c.seq} does not follow ${d.commitSeq}`);
  const f = fragments[c.fragment];
  if (!f || c.values.length !== f.size) throw new RangeError(`commit for fragment ${c.fragment} does not fit the layout`);
  scatter(d.theta, f, c.values);
  d.outer[c.fragment] = copyOuter(c.outer);
  d.versions[c.fragment] = c.version;
  d.commitSeq = c.seq;
  d.epoch = c.epoch;
  d.globalStep = c.globalStep;
  d.mergedTokens = c.mergedTokens;
  d.nextFragment = c.nextFragment;
  d.norms = fragments.map((_, p) => (p === c.fragment ? [...c.norms] : [...(d.norms?.[p] ?? [])]));
  const table = new DedupeTable();
  for (const row of d.dedupe) table.set(row);
  for (const row of c.dedupe) table.set(row);
  d.dedupe = table.mergedRows();
}

export function copyOuter(o: OuterState): OuterState {
  return { buf: Float32Array.from(o.buf), acc: o.acc && Float32Array.from(o.acc), count: o.count };
}
