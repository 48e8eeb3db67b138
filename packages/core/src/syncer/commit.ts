import { scatter, type Fragment } from '../fragments';
import type { OuterState } from '../outer';
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
   * left for a new one (syncer.ts ownSession), whose rows they would erase. */
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
