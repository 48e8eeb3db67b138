import { gather } from '../fragments';
import type { MergeLogEntry } from '../syncer/events';
import type { Syncer } from '../syncer/syncer';
import type { SimLearner } from './sim-learner';

export class InvariantError extends Error {
  override name = 'InvariantError';
}

/**
 * The syncer's safety properties, checked after every event of a simulated run:
 * versions never go down and each merge raises its fragment's version; no push (learner, session, seq)
 * is merged twice; every global parameter stays finite.
 */
export class InvariantChecker {
  private readonly versions: number[];
  private readonly mergedKeys = new Set<string>();

  constructor(private readonly syncer: Syncer) {
    this.versions = [...syncer.model.versions];
  }

  afterEvent(): void {
    const v = this.syncer.model.versions;
    v.forEach((x, p) => {
      if (x < this.versions[p]!) throw new InvariantError(`fragment ${p} version went down ${this.versions[p]} → ${x}`);
      this.versions[p] = x;
    });
    const theta = this.syncer.model.theta;
    for (let i = 0; i < theta.length; i++) if (!Number.isFinite(theta[i])) throw new InvariantError(`parameter ${i} is ${theta[i]}`);
  }

  merged(e: MergeLogEntry): void {
    if (e.version <= this.versions[e.fragment]!) throw new InvariantError(`merge of round ${e.round} did not raise fragment ${e.fragment}'s version`);
    for (const c of e.contributors) {
      const key = `${c.id}/${c.session}/${c.seq}`;
      if (this.mergedKeys.has(key)) throw new InvariantError(`push ${key} merged twice`);
      this.mergedKeys.add(key);
    }
  }
}

/** After a full flush every connected learner holds every fragment at the syncer's version, as its anchor. */
export function checkFinal(syncer: Syncer, learners: readonly SimLearner[]): void {
  if (syncer.rounds.size > 0) throw new InvariantError(`${syncer.rounds.size} rounds still open after the flush`);
  for (const l of learners) {
    if (!syncer.learners.get(l.s.id)?.connected) continue;
    syncer.fragments.forEach((f, p) => {
      const want = syncer.model.versions[p]!;
      if (l.state.baseVersions[p] !== want) throw new InvariantError(`${l.s.id} holds fragment ${p} at v${l.state.baseVersions[p]}, syncer at v${want}`);
      // The anchor is what the learner adopted and will measure its next delta from (its parameters have
      // moved on by local steps since). It must be bit-identical to the global fragment for every downlink
      // but fp16, whose rounding the syncer does not adopt: fp32 copies are exact, and an int8 / int4
      // update is adopted by the syncer as the value the learner rebuilds from it (downlink.ts).
      const global = gather(syncer.model.theta, f), anchor = l.state.anchors[p]!;
      if (syncer.cfg.downlink !== 'fp16' && !sameBits(global, anchor)) {
        throw new InvariantError(`${l.s.id} anchor of fragment ${p} differs from the global model`);
      }
    });
  }
}

/** Equal as bit patterns (so −0 ≠ 0 and NaN = NaN of the same payload), not just as numbers. */
function sameBits(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length), y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  return x.every((v, i) => v === y[i]);
}
