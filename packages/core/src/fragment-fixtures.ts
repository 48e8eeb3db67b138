/**
 * Shared by the fragment tests (fragments.test.ts, fragment-balanced.test.ts): seeded random layouts,
 * the P values worth trying, and the partition check every plan must pass. Not exported from index.ts.
 */
import { validateFragment, type Fragment, type Segment } from './fragments';
import { makeLayout, type ParamLayout, type TensorEntry, type TensorSpec } from './layout';
import type { Rng } from './rng';

export const dense = (name: string, n: number, layer?: number): TensorSpec =>
  layer === undefined ? { name, shape: [n], kind: 'dense' } : { name, shape: [n], kind: 'dense', layer };

export const rowsOf = (t: TensorEntry): number => t.shape[0] ?? NaN;

export function isWhole(l: ParamLayout, s: Segment): boolean {
  const t = l.tensors.find((x) => x.name === s.name);
  return t !== undefined && s.rowStart === 0 && s.rows === rowsOf(t);
}

export const names = (frags: Fragment[]): string[][] => frags.map((f) => f.segments.map((s) => s.name));

/**
 * What is wrong with a plan of P fragments, [] when nothing: every element of the flat vector lies in
 * exactly one segment; a segment is whole rows of one tensor at the offsets the layout gives; segments
 * follow flat order and two adjacent row ranges of one tensor in one fragment are one segment; no
 * fragment is empty, indices run 0..P−1, and validateFragment agrees. Collected rather than asserted
 * one by one, because the seeded tests check thousands of plans.
 */
export function partitionProblems(layout: ParamLayout, frags: Fragment[], P: number): string[] {
  const problems: string[] = [];
  if (frags.length !== P || frags.some((f, i) => f.index !== i)) problems.push(`indices ${frags.map((f) => f.index).join(',')} for P = ${P}`);
  const hits = new Uint8Array(layout.totalSize);
  const byName = new Map(layout.tensors.map((t) => [t.name, t]));
  for (const f of frags) {
    if (f.segments.length === 0) problems.push(`fragment ${f.index} is empty`);
    let dst = 0, lastEnd = 0, lastName = '';
    for (const s of f.segments) {
      const t = byName.get(s.name);
      if (t === undefined) { problems.push(`unknown tensor ${s.name}`); continue; }
      const row = t.size / rowsOf(t);
      const rowsOk = Number.isInteger(s.rowStart) && Number.isInteger(s.rows) && s.rowStart >= 0 && s.rows >= 1 && s.rowStart + s.rows <= rowsOf(t);
      const spanOk = s.kind === t.kind && s.srcOffset === t.offset + s.rowStart * row && s.size === s.rows * row && s.dstOffset === dst;
      // flat order; two touching pieces of one tensor would have been one segment
      const orderOk = s.name === lastName ? s.srcOffset > lastEnd : s.srcOffset >= lastEnd;
      if (!rowsOk || !spanOk || !orderOk) problems.push(`fragment ${f.index}: ${JSON.stringify(s)}`);
      lastEnd = s.srcOffset + s.size;
      lastName = s.name;
      dst += s.size;
      for (let k = s.srcOffset; k < lastEnd; k++) hits[k] = (hits[k] ?? 0) + 1;
    }
    if (f.size !== dst) problems.push(`fragment ${f.index}: size ${f.size}, segments ${dst}`);
    const v = validateFragment(layout, f);
    if (!v.ok) problems.push(v.detail);
  }
  if (!hits.every((h) => h === 1)) problems.push('some element is not covered exactly once');
  return problems;
}

/** 1..14 tensors of rank 1..3, dims 1..12, about 20% embeddings, most with a layer. */
export function randomLayout(rng: Rng): ParamLayout {
  const n = 1 + rng.int(14);
  const specs: TensorSpec[] = [];
  let layer = 0;
  for (let i = 0; i < n; i++) {
    const shape = Array.from({ length: 1 + rng.int(3) }, () => 1 + rng.int(12));
    if (rng.next() < 0.3) layer++;
    const spec: TensorSpec = { name: `t${rng.int(4)}_${i}`, shape, kind: rng.next() < 0.2 ? 'embedding' : 'dense' };
    if (rng.next() < 0.8) spec.layer = layer;
    specs.push(spec);
  }
  return makeLayout(specs);
}

/** The P values tried on a layout: all up to 24 (the paper's default), and the largest allowed (one row each). */
export function balancedPs(l: ParamLayout): number[] {
  const rows = l.tensors.reduce((n, t) => n + rowsOf(t), 0);
  return [...Array.from({ length: Math.min(rows, 24) }, (_, i) => i + 1), ...(rows > 24 ? [rows] : [])];
}
