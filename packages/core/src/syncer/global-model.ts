import { gather, scatter, type Fragment } from '../fragments';
import { makeOuterState, outerStep, type OuterChoice, type OuterConfig, type OuterState } from '../outer';
import { copyOuter } from './commit';
import type { ParamLayout } from '../layout';

/**
 * The syncer's model: global parameters Θ (flat fp32), an outer optimizer state per fragment, a version per
 * fragment, and a short history of past fragment values so a pushed delta can be rebuilt against the
 * exact base the learner started from (docs/method.md §5).
 */
export class GlobalModel {
  readonly theta: Float32Array;
  readonly outer: OuterState[];
  readonly versions: number[];
  private readonly history: Array<Map<number, Float32Array>>;

  constructor(
    readonly layout: ParamLayout,
    readonly fragments: readonly Fragment[],
    init: Float32Array,
    private readonly outerCfg: OuterConfig,
    private readonly historyDepth: number,
  ) {
    if (init.length !== layout.totalSize) throw new RangeError(`init has ${init.length} values, layout needs ${layout.totalSize}`);
    this.theta = Float32Array.from(init);
    this.outer = fragments.map((f) => makeOuterState(f.size, outerCfg));
    this.versions = fragments.map(() => 0);
    this.history = fragments.map((f) => new Map([[0, gather(this.theta, f)]]));
  }

  fragmentValues(p: number): Float32Array {
    return gather(this.theta, this.frag(p));
  }

  /** Θ_p at `version`, or undefined once it has left the history ring. */
  at(p: number, version: number): Float32Array | undefined {
    return this.history[p]?.get(version);
  }

  /** Outer step on fragment p with the merged outer gradient, in the merge's mode; the fragment's version becomes `version`. */
  step(p: number, delta: Float32Array, version: number, choice: OuterChoice): Float32Array {
    const f = this.frag(p);
    const values = gather(this.theta, f);
    outerStep(values, this.outer[p]!, delta, { ...this.outerCfg, ...choice });
    scatter(this.theta, f, values);
    this.versions[p] = version;
    const h = this.history[p]!;
    h.set(version, values);
    // Maps iterate in insertion order and versions only grow, so the first key is the oldest.
    while (h.size > this.historyDepth) h.delete(h.keys().next().value as number);
    return values;
  }

  /**
   * Replace the newest value of fragment p (its version stays): the downlink's dequantised update takes
   * the place of the exact outer step (merge-round.ts), in the model and in the history pushes are
   * rebuilt against. The optimizer state keeps the exact step.
   */
  adopt(p: number, values: Float32Array): void {
    const f = this.frag(p);
    if (values.length !== f.size) throw new RangeError(`fragment ${p} has ${f.size} values, got ${values.length}`);
    scatter(this.theta, f, values);
    this.history[p]!.set(this.versions[p]!, Float32Array.from(values));
  }

  /** Resume from a saved state (same layout and P): parameters, optimizer state and versions, exactly. */
  restore(st: ModelState): void {
    if (st.theta.length !== this.theta.length || st.outer.length !== this.fragments.length || st.versions.length !== this.fragments.length) {
      throw new RangeError('saved state does not match this model\'s layout and fragment count');
    }
    st.outer.forEach((o, p) => {
      const n = this.fragments[p]!.size;
      if (o.buf.length !== n || (o.acc !== null && o.acc.length !== n)) throw new RangeError(`optimizer state ${p} does not fit fragment ${p} (${n} values)`);
      if (o.acc === null && o.count !== 0) throw new RangeError(`optimizer state ${p} has an open Delayed Nesterov cycle and no accumulator`);
    });
    this.theta.set(st.theta);
    this.fragments.forEach((f, p) => {
      this.outer[p] = copyOuter(st.outer[p]!); // any kind: a null accumulator is an all-zero one (outer.ts)
      this.versions[p] = st.versions[p]!;
      this.history[p] = new Map([[st.versions[p]!, gather(this.theta, f)]]);
    });
  }

  private frag(p: number): Fragment {
    const f = this.fragments[p];
    if (!f) throw new RangeError(`fragment ${p} out of range`);
    return f;
  }
}

/** The model part of the syncer's durable state: parameters, outer optimizer state, versions. */
export interface ModelState {
  theta: Float32Array;
  outer: OuterState[];
  versions: number[];
}

export function exportModel(m: GlobalModel): ModelState {
  return { theta: Float32Array.from(m.theta), outer: m.outer.map(copyOuter), versions: [...m.versions] };
}
