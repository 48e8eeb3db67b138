/**
 * Fragments (§2.2): the P disjoint pieces of the flat parameter vector that are synced on their own
 * schedule. A plan depends only on the layout, P and the strategy, so every tab computes the same plan
 * without talking; all tie-breaks below are by size, then code-unit name order or layout order (never
 * localeCompare, which differs between engines and locales).
 *
 * Every strategy covers every parameter exactly once, keeps tensors whole, and leaves no fragment
 * empty; 1 <= P <= number of tensors is required (ConfigError otherwise). Within a fragment, segments
 * follow layout order, so a fragment vector is the concatenation of its tensors in layout order.
 */
import type { ParamLayout, TensorEntry, TensorKind } from './layout';
import { ConfigError } from './result';

export type FragmentStrategy = 'balanced' | 'layer' | 'tensor';

/** One whole tensor inside a fragment. Offsets and size are in elements. */
export interface Segment {
  name: string;
  kind: TensorKind;
  /** Offset in the flat parameter vector. */
  srcOffset: number;
  /** Offset in the fragment vector. */
  dstOffset: number;
  size: number;
}

export interface Fragment {
  index: number;
  segments: readonly Segment[];
  /** Elements in the fragment vector. */
  size: number;
}

/**
 * 'balanced' (default): greedy bin packing of whole tensors, largest first, each into the bin with
 *   the smallest running total (ties → lowest bin index). Embedding isolation: when P >= 2 and the
 *   layout has both kinds, embedding tensors get bins of their own, because they merge by direct
 *   averaging rather than RDA (§2.6). The first e bins take the embeddings and bins e..P-1 the dense
 *   tensors, each group packed greedily, with
 *     e = round(P · embeddingElements / totalElements), clamped to [max(1, P − #dense), min(#embedding, P − 1)],
 *   i.e. embeddings get their share of the bins, at least one, never all, and no bin is left empty.
 * 'tensor': tensor i (layout order) goes to fragment i mod P; with P = #tensors that is one tensor per fragment.
 * 'layer': units are maximal runs of consecutive tensors sharing the same `layer` (an absent layer is
 *   its own value, so stem and head tensors form their own units); while there are fewer units than
 *   P, the largest multi-tensor unit is split at its most even tensor boundary. The units are then
 *   cut into P contiguous groups minimising the largest group (exact DP). No embedding isolation.
 */
export function planFragments(layout: ParamLayout, P: number, strategy: FragmentStrategy = 'balanced'): Fragment[] {
  const tensors = layout.tensors;
  if (!Number.isInteger(P) || P < 1 || P > tensors.length) {
    throw new ConfigError(`fragments: P = ${P}, want an integer in [1, ${tensors.length}] (the tensor count)`);
  }
  let bins: number[][];
  if (strategy === 'balanced') bins = balancedBins(tensors, P);
  else if (strategy === 'tensor') bins = Array.from({ length: P }, (_, p) => tensorIndices(tensors.length).filter((i) => i % P === p));
  else if (strategy === 'layer') bins = layerBins(tensors, P);
  else throw new ConfigError(`fragments: unknown strategy ${String(strategy)}`);
  return bins.map((idx, index) => buildFragment(tensors, idx, index));
}

/** Copies fragment f out of the flat parameters into `out` (allocated when absent). */
export function gather(flat: Float32Array, f: Fragment, out?: Float32Array): Float32Array {
  const dst = out ?? new Float32Array(f.size);
  if (dst.length !== f.size) throw new ConfigError(`gather: out has ${dst.length} elements, fragment ${f.index} has ${f.size}`);
  for (const s of f.segments) {
    checkSpan(flat, s, f.index);
    dst.set(flat.subarray(s.srcOffset, s.srcOffset + s.size), s.dstOffset);
  }
  return dst;
}

/** Writes a fragment vector back into its places in the flat parameters. */
export function scatter(flat: Float32Array, f: Fragment, values: Float32Array): void {
  if (values.length !== f.size) throw new ConfigError(`scatter: ${values.length} values for fragment ${f.index} of ${f.size}`);
  for (const s of f.segments) {
    checkSpan(flat, s, f.index);
    flat.set(values.subarray(s.dstOffset, s.dstOffset + s.size), s.srcOffset);
  }
}

/** Largest fragment over the ideal even share (total / P): 1 is perfect; the peak message size follows it. */
export function peakToIdeal(frags: Fragment[]): number {
  if (frags.length === 0) throw new ConfigError('peakToIdeal: no fragments');
  let total = 0;
  let peak = 0;
  for (const f of frags) {
    total += f.size;
    if (f.size > peak) peak = f.size;
  }
  return peak / (total / frags.length);
}

// --- strategies -------------------------------------------------------------------------------------

function tensorIndices(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sizeOf(tensors: readonly TensorEntry[], idx: readonly number[]): number {
  let s = 0;
  for (const i of idx) s += at(tensors, i).size;
  return s;
}

function balancedBins(tensors: readonly TensorEntry[], P: number): number[][] {
  const all = tensorIndices(tensors.length);
  const emb = all.filter((i) => at(tensors, i).kind === 'embedding');
  const dense = all.filter((i) => at(tensors, i).kind !== 'embedding');
  if (P < 2 || emb.length === 0 || dense.length === 0) return greedyPack(tensors, all, P);
  const lo = Math.max(1, P - dense.length);
  const hi = Math.min(emb.length, P - 1);
  const e = Math.min(hi, Math.max(lo, Math.round((P * sizeOf(tensors, emb)) / sizeOf(tensors, all))));
  return [...greedyPack(tensors, emb, e), ...greedyPack(tensors, dense, P - e)];
}

/** Largest first into the currently smallest bin; with #items >= bins every bin gets at least one. */
function greedyPack(tensors: readonly TensorEntry[], idx: readonly number[], bins: number): number[][] {
  const sorted = [...idx].sort((a, b) => {
    const ta = at(tensors, a), tb = at(tensors, b);
    return tb.size - ta.size || byName(ta.name, tb.name);
  });
  const totals = new Array<number>(bins).fill(0);
  const out = Array.from({ length: bins }, () => [] as number[]);
  for (const i of sorted) {
    let best = 0;
    for (let b = 1; b < bins; b++) if (at(totals, b) < at(totals, best)) best = b;
    totals[best] = at(totals, best) + at(tensors, i).size;
    at(out, best).push(i);
  }
  return out;
}

/** A unit is the half-open tensor range [start, end) in layout order. */
interface Unit { start: number; end: number; size: number }

function layerBins(tensors: readonly TensorEntry[], P: number): number[][] {
  const units: Unit[] = [];
  for (let i = 0; i < tensors.length; i++) {
    const t = at(tensors, i);
    const last = units[units.length - 1];
    if (last !== undefined && at(tensors, last.end - 1).layer === t.layer) {
      last.end = i + 1;
      last.size += t.size;
    } else {
      units.push({ start: i, end: i + 1, size: t.size });
    }
  }
  while (units.length < P) splitLargest(tensors, units); // P <= #tensors, so a splittable unit exists
  const cuts = minMaxPartition(units.map((u) => u.size), P);
  const bins: number[][] = [];
  for (let p = 0; p < P; p++) {
    const from = at(units, at(cuts, p)).start;
    const to = at(units, at(cuts, p + 1) - 1).end;
    bins.push(tensorIndices(to - from).map((k) => from + k));
  }
  return bins;
}

function splitLargest(tensors: readonly TensorEntry[], units: Unit[]): void {
  let pick = -1;
  for (let u = 0; u < units.length; u++) {
    const cur = at(units, u);
    if (cur.end - cur.start >= 2 && (pick < 0 || cur.size > at(units, pick).size)) pick = u;
  }
  if (pick < 0) throw new ConfigError('fragments: cannot split layers further'); // unreachable when P <= #tensors
  const unit = at(units, pick);
  let left = 0, bestCut = unit.start + 1, bestMax = Infinity, leftSize = 0;
  for (let c = unit.start + 1; c < unit.end; c++) {
    left += at(tensors, c - 1).size;
    const worst = Math.max(left, unit.size - left);
    if (worst < bestMax) { bestMax = worst; bestCut = c; leftSize = left; }
  }
  units.splice(pick, 1, { start: unit.start, end: bestCut, size: leftSize }, { start: bestCut, end: unit.end, size: unit.size - leftSize });
}

/**
 * Cuts `sizes` into exactly P non-empty contiguous groups minimising the largest group sum.
 * Returns P + 1 boundaries (first 0, last sizes.length). O(P · n²) over units, fine for model layouts.
 * Ties keep the earliest cut, so the answer is the same everywhere.
 */
function minMaxPartition(sizes: readonly number[], P: number): number[] {
  const n = sizes.length;
  const prefix = [0];
  for (const s of sizes) prefix.push(at(prefix, prefix.length - 1) + s);
  // best[k][j]: smallest possible max over k groups covering the first j units; from[k][j]: start of the last group.
  const best: number[][] = [prefix.map((_, j) => (j === 0 ? 0 : Infinity))];
  const from: number[][] = [prefix.map(() => 0)];
  for (let k = 1; k <= P; k++) {
    const prev = at(best, k - 1);
    const row = new Array<number>(n + 1).fill(Infinity);
    const arg = new Array<number>(n + 1).fill(0);
    for (let j = k; j <= n; j++) {
      for (let i = k - 1; i < j; i++) {
        const v = Math.max(at(prev, i), at(prefix, j) - at(prefix, i));
        if (v < at(row, j)) { row[j] = v; arg[j] = i; }
      }
    }
    best.push(row);
    from.push(arg);
  }
  const cuts = new Array<number>(P + 1).fill(0);
  cuts[P] = n;
  for (let k = P; k >= 1; k--) cuts[k - 1] = at(at(from, k), at(cuts, k));
  return cuts;
}

function buildFragment(tensors: readonly TensorEntry[], idx: number[], index: number): Fragment {
  const segments: Segment[] = [];
  let size = 0;
  for (const i of [...idx].sort((a, b) => a - b)) {
    const t = at(tensors, i);
    segments.push(Object.freeze({ name: t.name, kind: t.kind, srcOffset: t.offset, dstOffset: size, size: t.size }));
    size += t.size;
  }
  return Object.freeze({ index, segments: Object.freeze(segments), size });
}

function checkSpan(flat: Float32Array, s: Segment, index: number): void {
  if (s.srcOffset + s.size > flat.length) {
    throw new ConfigError(`fragment ${index}: segment ${s.name} ends at ${s.srcOffset + s.size}, flat has ${flat.length}`);
  }
}

/** Indexed read that states the invariant instead of sprinkling `!` (noUncheckedIndexedAccess). */
function at<T>(xs: readonly T[], i: number): T {
  const v = xs[i];
  if (v === undefined) throw new ConfigError(`fragments: index ${i} out of range ${xs.length}`);
  return v;
}
