/**
 * Fragments (docs/method.md §2): the P disjoint pieces of the flat parameter vector that are synced on
 * their own schedule. A plan depends only on the layout, P and the strategy, so every tab computes the
 * same plan without talking; all tie-breaks are by size, then code-unit name order or layout order
 * (never localeCompare, which differs between engines and locales).
 *
 * Every strategy covers every parameter exactly once and leaves no fragment empty. A segment is a
 * contiguous run of whole rows of one tensor (the whole tensor unless 'balanced' split it). Within a
 * fragment, segments follow layout order and two adjacent row ranges of one tensor are one segment, so
 * a fragment vector is the concatenation of its pieces in flat order.
 */
import { balancedBins, rowsOf, rowSize, type Piece } from './fragment-balanced';
import type { ParamLayout, TensorEntry, TensorKind } from './layout';
import { ConfigError, fail, ok, type Result } from './result';

export type FragmentStrategy = 'balanced' | 'layer' | 'tensor';

/**
 * Rows [rowStart, rowStart + rows) of one tensor inside a fragment. A row is the product of all dims
 * but the first (one element of a 1-D tensor). Offsets and size are in elements. The merge takes each
 * segment as one range, so RDA's norms and direction are per piece of a split tensor, not per tensor
 * (docs/method.md §8).
 */
export interface Segment {
  name: string;
  kind: TensorKind;
  /** Offset in the flat parameter vector: the tensor's offset + rowStart · row size. */
  srcOffset: number;
  /** Offset in the fragment vector. */
  dstOffset: number;
  /** rows · row size. */
  size: number;
  /** First row of the tensor in this segment (0 for a whole tensor). */
  rowStart: number;
  /** Rows in this segment (shape[0] for a whole tensor). */
  rows: number;
}

export interface Fragment {
  index: number;
  segments: readonly Segment[];
  /** Elements in the fragment vector. */
  size: number;
}

/**
 * 'balanced' (default): largest-first greedy packing into the smallest bin, splitting a tensor by rows
 *   only where a whole one would take a fragment above 4/3 of the ideal; embeddings (and their row
 *   slices) only share fragments with embeddings when P >= 2 and both kinds exist. See
 *   fragment-balanced.ts. Needs 1 <= P <= the layout's total row count.
 * 'tensor': tensor i (layout order) goes to fragment i mod P; with P = #tensors that is one tensor per fragment.
 * 'layer': units are maximal runs of consecutive tensors sharing the same `layer` (an absent layer is
 *   its own value, so stem and head tensors form their own units); while there are fewer units than
 *   P, the largest multi-tensor unit is split at its most even tensor boundary. The units are then
 *   cut into P contiguous groups minimising the largest group (exact DP). No embedding isolation.
 * 'tensor' and 'layer' keep tensors whole and need 1 <= P <= #tensors. ConfigError otherwise.
 */
export function planFragments(layout: ParamLayout, P: number, strategy: FragmentStrategy = 'balanced'): Fragment[] {
  const tensors = layout.tensors;
  if (!Number.isInteger(P) || P < 1) throw new ConfigError(`fragments: P = ${P}, want an integer >= 1`);
  let bins: Piece[][];
  if (strategy === 'balanced') {
    bins = balancedBins(tensors, P);
  } else if (strategy === 'tensor' || strategy === 'layer') {
    if (P > tensors.length) throw new ConfigError(`fragments: P = ${P} exceeds the ${tensors.length} tensors that '${strategy}' keeps whole`);
    const idx = strategy === 'tensor'
      ? Array.from({ length: P }, (_, p) => tensorIndices(tensors.length).filter((i) => i % P === p))
      : layerBins(tensors, P);
    bins = idx.map((bin) => bin.map((i) => ({ tensor: i, rowStart: 0, rows: rowsOf(at(tensors, i)) })));
  } else {
    throw new ConfigError(`fragments: unknown strategy ${String(strategy)}`);
  }
  return bins.map((pieces, index) => buildFragment(tensors, pieces, index));
}

/**
 * ok when `f` is well formed for `layout`: every segment names a tensor of the layout with its kind,
 * covers whole rows inside it at the offsets the layout gives, and the segments tile [0, f.size) in
 * order. 'bad-field' naming the first problem otherwise. For the model side, which slices tensors
 * by name and row range and must refuse a plan from another layout before touching anything.
 */
export function validateFragment(layout: ParamLayout, f: Fragment): Result<true> {
  if (typeof f !== 'object' || f === null || !Number.isInteger(f.size) || f.size < 1 || !Array.isArray(f.segments)) {
    return fail('bad-field', 'fragment is malformed');
  }
  const byName = new Map(layout.tensors.map((t) => [t.name, t]));
  let dst = 0;
  for (const s of f.segments as readonly (Partial<Segment> | null)[]) {
    const t = typeof s?.name === 'string' ? byName.get(s.name) : undefined;
    const where = `fragment ${f.index}: segment ${String(s?.name)}`;
    if (s === null || t === undefined) return fail('bad-field', `${where} names no tensor of the layout`);
    const rowStart = s.rowStart ?? NaN, rows = s.rows ?? NaN; // NaN fails every check below
    if (!Number.isInteger(rowStart) || !Number.isInteger(rows) || rowStart < 0 || rows < 1 || rowStart + rows > rowsOf(t)) {
      return fail('bad-field', `${where}: rows [${rowStart}, +${rows}) are outside the tensor's ${rowsOf(t)}`);
    }
    const r = rowSize(t);
    if (s.kind !== t.kind || s.srcOffset !== t.offset + rowStart * r || s.size !== rows * r || s.dstOffset !== dst) {
      return fail('bad-field', `${where} is outside the parameters or the fragment: kind, offsets or size disagree with the layout`);
    }
    dst += rows * r;
  }
  if (dst !== f.size) return fail('bad-field', `fragment ${f.index}: segments cover ${dst} of ${f.size} values`);
  return ok(true);
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

function buildFragment(tensors: readonly TensorEntry[], pieces: readonly Piece[], index: number): Fragment {
  const sorted = [...pieces].sort((a, b) => a.tensor - b.tensor || a.rowStart - b.rowStart);
  const runs: Piece[] = [];
  for (const p of sorted) {
    const last = runs[runs.length - 1];
    if (last !== undefined && last.tensor === p.tensor && last.rowStart + last.rows === p.rowStart) last.rows += p.rows;
    else runs.push({ ...p });
  }
  const segments: Segment[] = [];
  let size = 0;
  for (const p of runs) {
    const t = at(tensors, p.tensor);
    const r = rowSize(t);
    segments.push(Object.freeze({ name: t.name, kind: t.kind, srcOffset: t.offset + p.rowStart * r, dstOffset: size, size: p.rows * r, rowStart: p.rowStart, rows: p.rows }));
    size += p.rows * r;
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

/**
 * A fingerprint of a fragment plan (FNV-1a over every segment's place and size, hex): stored state is
 * only valid under the plan it was written with, and the plan can change with P or with the planner
 * (row splitting, docs/method.md §2) while the layout hash stays the same.
 */
export function planHash(fragments: readonly Fragment[]): string {
  let h = 0x811c9dc5;
  const mix = (v: number): void => {
    for (let k = 0; k < 4; k++) { h ^= (v >>> (8 * k)) & 0xff; h = Math.imul(h, 0x01000193); }
  };
  mix(fragments.length);
  for (const f of fragments) {
    mix(f.segments.length);
    for (const s of f.segments) { mix(s.srcOffset); mix(s.dstOffset); mix(s.size); }
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

/** Steps a learner needs on fragment p (at `version`) before it counts toward the fragment being due: H,
 * and before the fragment's first merge H·(p+1)/P, so the P fragments come due staggered, one every H/P
 * steps (docs/method.md §2). The syncer and the learner engine use the same bar. */
export function dueBar(H: number, P: number, p: number, version: number): number {
  return version === 0 ? Math.ceil((H * (p + 1)) / P) : H;
}
