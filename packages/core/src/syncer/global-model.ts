import { gather, scatter, type Fragment } from '../fragments';
import { makeOuterState, outerStep, type OuterChoice, type OuterConfig, type OuterState } from '../outer';
import { copyOuter } from './commit';
import type { ParamLayout } from '../layout';
import { fail, ok, type Result } from '../result';

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

  /**
   * The outer step on fragment p with the merged outer gradient, in the merge's mode, computed on copies: the model is not
   * touched. Refused as 'non-finite' when the step would leave fp32's range (values or optimizer state),
   * so a merge that would poison the model is never committed (docs/method.md §5).
   */
  proposeStep(p: number, delta: Float32Array, choice: OuterChoice): Result<{ values: Float32Array; outer: OuterState }> {
    const values = gather(this.theta, this.frag(p)), outer = copyOuter(this.outer[p]!);
    outerStep(values, outer, delta, { ...this.outerCfg, ...choice });
    const bad = firstNonFinite(values) ?? firstNonFinite(outer.buf) ?? (outer.acc ? firstNonFinite(outer.acc) : undefined);
    if (bad !== undefined) return fail('non-finite', `the outer step on fragment ${p} leaves fp32's range (${bad})`);
    return ok({ values, outer });
  }

  /**
   * Commit a step: fragment p becomes `values` at `version` (for a quantised downlink, the dequantised
   * update, which is what learners rebuild and what later pushes are measured against), with the optimizer
   * state of the exact step.
   */
  accept(p: number, version: number, values: Float32Array, outer: OuterState): void {
    const f = this.frag(p);
    if (values.length !== f.size) throw new RangeError(`fragment ${p} has ${f.size} values, got ${values.length}`);
    scatter(this.theta, f, values);
    this.outer[p] = outer;
    this.versions[p] = version;
    const h = this.history[p]!;
    h.set(version, Float32Array.from(values));
    // Maps iterate in insertion order and versions only grow, so the first key is the oldest.
    while (h.size > this.historyDepth) h.delete(h.keys().next().value as number);
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

/** The first non-finite element, as text, or undefined when all are finite. */
function firstNonFinite(x: Float32Array): string | undefined {
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i]!)) return `element ${i} is ${x[i]}`;
  return undefined;
}
