import { gather, scatter, type Fragment } from '../fragments';
import { makeOuterState, outerStep, type OuterConfig, type OuterState } from '../outer';
import type { ParamLayout } from '../layout';

/**
 * The syncer's model: global parameters Θ (flat fp32), a Nesterov state per fragment, a version per
 * fragment, and a short history of past fragment values so a pushed delta can be rebuilt against the
 * exact base the learner started from (algorithm.md §2.10, pitfall 13).
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

  /** Outer step on fragment p with the merged outer gradient; the fragment's version becomes `version`. */
  step(p: number, delta: Float32Array, version: number): Float32Array {
    const f = this.frag(p);
    const values = gather(this.theta, f);
    outerStep(values, this.outer[p]!, delta, this.outerCfg);
    scatter(this.theta, f, values);
    this.versions[p] = version;
    const h = this.history[p]!;
    h.set(version, values);
    // Maps iterate in insertion order and versions only grow, so the first key is the oldest.
    while (h.size > this.historyDepth) h.delete(h.keys().next().value as number);
    return values;
  }

  private frag(p: number): Fragment {
    const f = this.fragments[p];
    if (!f) throw new RangeError(`fragment ${p} out of range`);
    return f;
  }
}
