/**
 * The float64 reductions of the merge (merge.ts), over one chunk of at most CHUNK elements at a time.
 *
 * Why chunks: a sum over contributors per element is built in a float64 scratch of CHUNK elements
 * (16 kB, resident in the L1 cache) while the contributors stream through it, four at a time, instead
 * of an inner loop over contributors per element. Every sum still adds the same terms in the same
 * order as the element-major loop (contributors in the order given, from 0; elements ascending), so
 * the results are bit for bit those of the straightforward code (docs/method.md §5). Small functions
 * called once per chunk are also what JS engines compile best.
 */

/** Elements per chunk: 2,048 float64 sums (16 kB) fit the L1 cache with room to spare. */
export const CHUNK = 2048;

/**
 * acc[j] = Σ_m c_m Δ_m[lo + j] for j in [0, hi − lo), each sum starting from 0 and adding the
 * contributors in order. hi − lo ≤ acc.length.
 */
export function accumulate(deltas: readonly Float32Array[], c: Float64Array, lo: number, hi: number, acc: Float64Array): void {
  const len = hi - lo;
  acc.fill(0, 0, len);
  let m = 0;
  for (; m + 4 <= deltas.length; m += 4) {
    const a = deltas[m]!, b = deltas[m + 1]!, d = deltas[m + 2]!, e = deltas[m + 3]!;
    const ca = c[m]!, cb = c[m + 1]!, cd = c[m + 2]!, ce = c[m + 3]!;
    // Left to right: (((acc + ca·a) + cb·b) + cd·d) + ce·e, the sequential order.
    for (let j = 0, i = lo; j < len; j++, i++) acc[j] = acc[j]! + ca * a[i]! + cb * b[i]! + cd * d[i]! + ce * e[i]!;
  }
  for (; m < deltas.length; m++) {
    const a = deltas[m]!, ca = c[m]!;
    for (let j = 0, i = lo; j < len; j++, i++) acc[j] = acc[j]! + ca * a[i]!;
  }
}

/** out[lo + j] = acc[j] (rounded to fp32) for j in [0, hi − lo); returns sq + Σ_j acc[j]², j ascending. */
export function store(acc: Float64Array, out: Float32Array, lo: number, hi: number, sq: number): number {
  for (let j = 0, i = lo; i < hi; j++, i++) {
    const s = acc[j]!;
    out[i] = s;
    sq += s * s;
  }
  return sq;
}

/**
 * sq[m] += Σ_i Δ_m[i]² over [lo, hi), elements ascending: called chunk after chunk, it continues each
 * running sum. Four contributors share one loop, so four independent additions per element keep the
 * floating-point adder busy where one running sum would wait out each addition's latency.
 */
export function sumSquares(deltas: readonly Float32Array[], lo: number, hi: number, sq: Float64Array): void {
  let m = 0;
  for (; m + 4 <= deltas.length; m += 4) {
    const a = deltas[m]!, b = deltas[m + 1]!, c = deltas[m + 2]!, d = deltas[m + 3]!;
    let sa = sq[m]!, sb = sq[m + 1]!, sc = sq[m + 2]!, sd = sq[m + 3]!;
    for (let i = lo; i < hi; i++) {
      const x = a[i]!, y = b[i]!, z = c[i]!, t = d[i]!;
      sa += x * x;
      sb += y * y;
      sc += z * z;
      sd += t * t;
    }
    sq[m] = sa;
    sq[m + 1] = sb;
    sq[m + 2] = sc;
    sq[m + 3] = sd;
  }
  for (; m < deltas.length; m++) {
    const a = deltas[m]!;
    let sa = sq[m]!;
    for (let i = lo; i < hi; i++) sa += a[i]! * a[i]!;
    sq[m] = sa;
  }
}

/** out[i] *= k for i in [lo, hi). */
export function scale(out: Float32Array, lo: number, hi: number, k: number): void {
  for (let i = lo; i < hi; i++) out[i] = out[i]! * k;
}
