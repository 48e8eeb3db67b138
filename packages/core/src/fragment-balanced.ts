/**
 * The 'balanced' fragment strategy (docs/method.md §2): greedy packing, largest piece first, each into
 * the fragment with the smallest running total, where a tensor is split into contiguous row ranges
 * only when placing it whole would take a fragment above 4/3 of the ideal share (total / P).
 *
 * A row is the unit of the first dimension: the product of all other dims (one element of a 1-D
 * tensor). Whole rows keep every piece a plain slice `t[rowStart : rowStart + rows]` that the model
 * can read and write without reshaping.
 */
import type { TensorEntry } from './layout';
import { ConfigError } from './result';

/** Rows [rowStart, rowStart + rows) of the tensor at layout index `tensor`. */
export interface Piece {
  tensor: number;
  rowStart: number;
  rows: number;
}

export function rowsOf(t: TensorEntry): number {
  const rows = t.shape[0];
  if (rows === undefined) throw new ConfigError(`fragments: ${t.name} has no shape`); // makeLayout forbids it
  return rows;
}

/** Elements per row. */
export function rowSize(t: TensorEntry): number {
  return t.size / rowsOf(t);
}

/**
 * Packs the layout into P bins of pieces (see planFragments for the contract).
 *
 * Embedding isolation: when P >= 2 and both kinds exist, the first e bins take the embedding tensors
 * and the other P − e the dense ones, because embeddings merge by direct averaging, not RDA
 * (docs/method.md §5). e is the value in [max(1, P − dense rows), min(embedding rows, P − 1)] (so no
 * bin can be left empty) minimising the larger of the two groups' mean bin, E / e and D / (P − e),
 * in elements; ties → smaller e. Isolation can keep the peak above 4/3 of the ideal: with few
 * embedding elements and small P, the dense group alone exceeds it (e.g. the default GPT at P <= 3).
 */
export function balancedBins(tensors: readonly TensorEntry[], P: number): Piece[][] {
  const all = tensors.map((_, i) => i);
  const emb = all.filter((i) => tensorAt(tensors, i).kind === 'embedding');
  const dense = all.filter((i) => tensorAt(tensors, i).kind !== 'embedding');
  const rows = rowCount(tensors, all);
  if (P > rows) throw new ConfigError(`fragments: P = ${P} exceeds the ${rows} tensor rows that 'balanced' can split the layout into`);
  // The largest fragment, in elements, that keeps peak / ideal <= 4/3.
  const cap = Math.floor((4 * elementCount(tensors, all)) / (3 * P));
  if (P < 2 || emb.length === 0 || dense.length === 0) return packGroup(tensors, all, P, cap);
  const E = elementCount(tensors, emb), D = elementCount(tensors, dense);
  let e = 0, bestMean = Infinity;
  for (let k = Math.max(1, P - rowCount(tensors, dense)); k <= Math.min(rowCount(tensors, emb), P - 1); k++) {
    const mean = Math.max(E / k, D / (P - k));
    if (mean < bestMean) { e = k; bestMean = mean; }
  }
  return [...packGroup(tensors, emb, e, cap), ...packGroup(tensors, dense, P - e, cap)]; // P <= rows keeps the range non-empty
}

/**
 * One group into `bins` non-empty bins. First plain largest-first greedy with splitting only past
 * `cap` (see `greedy`); if that keeps every tensor whole it is the plan, so a layout whose whole-tensor
 * packing already meets 4/3 is planned exactly as before splitting existed. Otherwise a split is
 * needed anyway, and the group is packed again with the whole-placement limit lowered to
 * target + largest row − 1 (target = ⌈group total / bins⌉): a whole tensor may overshoot the even
 * share by no more than a split itself can, so the bins come out near even instead of near cap.
 * Bounds, in elements: every bin <= cap in the first case, <= target + largest row − 1 in the second.
 */
function packGroup(tensors: readonly TensorEntry[], idx: readonly number[], bins: number, cap: number): Piece[][] {
  const first = greedy(tensors, idx, bins, cap);
  if (first.reduce((n, bin) => n + bin.length, 0) === idx.length) return first;
  let largestRow = 0;
  for (const i of idx) largestRow = Math.max(largestRow, rowSize(tensorAt(tensors, i)));
  return greedy(tensors, idx, bins, Math.min(cap, Math.ceil(elementCount(tensors, idx) / bins) + largestRow - 1));
}

/**
 * Repeatedly the largest queued piece (size, then code-unit name order: names are unique and each
 * tensor has at most one queued piece) goes to the bin with the smallest total (ties → lowest index):
 *   - whole, when the bin stays <= limit;
 *   - otherwise its first h rows, h = max(1, ⌊(target − total) / row⌋), i.e. it fills the bin up to
 *     target = ⌈group total / bins⌉, and its remaining rows are queued again.
 * Either placement leaves at least one queued row for every other still-empty bin, so none ends empty.
 * The bin chosen is always below target (its total is at most the mean of what is placed so far), so
 * a split overshoots target by less than one row: every bin <= max(limit, target + largest row − 1).
 * With no split this is the reference greedy packer of whole tensors.
 */
function greedy(tensors: readonly TensorEntry[], idx: readonly number[], bins: number, limit: number): Piece[][] {
  const queue: Piece[] = idx.map((i) => ({ tensor: i, rowStart: 0, rows: rowsOf(tensorAt(tensors, i)) }));
  let queuedRows = rowCount(tensors, idx);
  let empty = bins;
  const target = Math.ceil(elementCount(tensors, idx) / bins);
  const totals = new Array<number>(bins).fill(0);
  const out = Array.from({ length: bins }, () => [] as Piece[]);
  while (queue.length > 0) {
    const item = takeLargest(tensors, queue);
    const r = rowSize(tensorAt(tensors, item.tensor));
    let b = 0;
    for (let k = 1; k < bins; k++) if ((totals[k] ?? 0) < (totals[b] ?? 0)) b = k;
    const total = totals[b] ?? 0;
    const maxRows = total === 0 ? queuedRows - (empty - 1) : item.rows; // a row left for every other empty bin
    let take = item.rows;
    if (take > maxRows || total + take * r > limit) take = Math.min(item.rows, maxRows, Math.max(1, Math.floor((target - total) / r)));
    out[b]?.push({ tensor: item.tensor, rowStart: item.rowStart, rows: take });
    totals[b] = total + take * r;
    if (total === 0) empty--;
    queuedRows -= take;
    if (take < item.rows) queue.push({ tensor: item.tensor, rowStart: item.rowStart + take, rows: item.rows - take });
  }
  return out;
}

/** Removes and returns the largest piece (size, then code-unit name order, never localeCompare). */
function takeLargest(tensors: readonly TensorEntry[], queue: Piece[]): Piece {
  let best = 0;
  for (let k = 1; k < queue.length; k++) {
    const a = queueAt(queue, k), b = queueAt(queue, best);
    const ta = tensorAt(tensors, a.tensor), tb = tensorAt(tensors, b.tensor);
    const sa = a.rows * rowSize(ta), sb = b.rows * rowSize(tb);
    if (sa > sb || (sa === sb && ta.name < tb.name)) best = k;
  }
  const item = queueAt(queue, best);
  queue.splice(best, 1);
  return item;
}

function elementCount(tensors: readonly TensorEntry[], idx: readonly number[]): number {
  let n = 0;
  for (const i of idx) n += tensorAt(tensors, i).size;
  return n;
}

function rowCount(tensors: readonly TensorEntry[], idx: readonly number[]): number {
  let n = 0;
  for (const i of idx) n += rowsOf(tensorAt(tensors, i));
  return n;
}

function tensorAt(tensors: readonly TensorEntry[], i: number): TensorEntry {
  const t = tensors[i];
  if (t === undefined) throw new ConfigError(`fragments: tensor index ${i} out of range ${tensors.length}`);
  return t;
}

function queueAt(queue: readonly Piece[], k: number): Piece {
  const p = queue[k];
  if (p === undefined) throw new ConfigError(`fragments: queue index ${k} out of range ${queue.length}`);
  return p;
}
