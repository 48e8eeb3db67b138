/**
 * The outer optimizer's state in a model file (docs/model-file.md), so that a run resumed from the file
 * goes on with the Nesterov momentum it had instead of restarting it from zero. Per parameter tensor
 * `name`, in the parameter's shape:
 *   tabswarm.outer.momentum.<name>    the momentum buffer b (outer.ts), always written
 *   tabswarm.outer.cycle_sum.<name>   the open Delayed Nesterov cycle's sum of Δs, written only while some
 *                                     fragment has a cycle open (merge counts > 0)
 * and in `__metadata__` the two prefixes (what a reader looks for) and the open merges per fragment.
 * The syncer keeps its state per fragment; the file keeps it per parameter, so a file read at another
 * fragment count P still restores the momentum element by element. An open cycle counts merges per
 * fragment, which another P does not have: it is dropped there (its Δs are in Θ already, not in b).
 */
import type { Fragment } from './fragments';
import { gather, scatter } from './fragments';
import type { ParamLayout } from './layout';
import type { OuterState } from './outer';
import { fail, ok, type Result } from './result';
import { layoutTensors, META, OUTER_PREFIX, type NamedTensor, type SafetensorsFile } from './safetensors';

export const MOMENTUM_PREFIX = `${OUTER_PREFIX}momentum.`;
export const CYCLE_SUM_PREFIX = `${OUTER_PREFIX}cycle_sum.`;

/** The tensors and metadata that carry `outer` (one state per fragment of `fragments`). */
export function outerTensors(layout: ParamLayout, fragments: readonly Fragment[], outer: readonly OuterState[]): { tensors: NamedTensor[]; metadata: Record<string, string> } {
  if (outer.length !== fragments.length) throw new RangeError(`${outer.length} outer states for ${fragments.length} fragments`);
  const flat = (part: (o: OuterState) => Float32Array | null): Float32Array => {
    const out = new Float32Array(layout.totalSize);
    fragments.forEach((f, p) => { const v = part(outer[p]!); if (v) scatter(out, f, v); }); // null: an all-zero accumulator
    return out;
  };
  const named = (prefix: string, theta: Float32Array): NamedTensor[] => layoutTensors(layout, theta).map((t) => ({ ...t, name: prefix + t.name }));
  const counts = outer.map((o) => o.count);
  const tensors = named(MOMENTUM_PREFIX, flat((o) => o.buf));
  const metadata: Record<string, string> = { [META.outerMomentum]: MOMENTUM_PREFIX, [META.outerCycleMerges]: JSON.stringify(counts) };
  if (counts.some((c) => c > 0)) {
    tensors.push(...named(CYCLE_SUM_PREFIX, flat((o) => o.acc)));
    metadata[META.outerCycleSum] = CYCLE_SUM_PREFIX;
  }
  return { tensors, metadata };
}

/**
 * The outer state per fragment from a file, or null when the file has none (a file from before format 2,
 * or from another tool: the run starts with zero momentum). Refuses, with a reason, a state that is there
 * in part: a parameter without its tensor, a tensor of another shape or for no parameter, cycle sums
 * without momentum, or merge counts that are not a list of integers ≥ 0 or name a cycle with no sums.
 */
export function outerFromFile(layout: ParamLayout, fragments: readonly Fragment[], file: SafetensorsFile): Result<OuterState[] | null> {
  const byName = new Map(file.tensors.filter((t) => t.name.startsWith(OUTER_PREFIX)).map((t) => [t.name, t]));
  if (byName.size === 0) return ok(null);
  const take = (prefix: string): Result<Float32Array | null> => {
    if (!layout.tensors.some((t) => byName.has(prefix + t.name))) return ok(null);
    const flat = new Float32Array(layout.totalSize);
    for (const t of layout.tensors) {
      const f = byName.get(prefix + t.name);
      if (!f) return fail('layout-mismatch', `the file has no tensor ${prefix}${t.name}`);
      if (f.shape.length !== t.shape.length || f.shape.some((d, i) => d !== t.shape[i])) {
        return fail('layout-mismatch', `tensor ${f.name} has shape [${f.shape.join(', ')}], the parameter [${t.shape.join(', ')}]`);
      }
      flat.set(f.data, t.offset);
      byName.delete(f.name);
    }
    return ok(flat);
  };
  const momentum = take(MOMENTUM_PREFIX);
  if (!momentum.ok) return momentum;
  const cycle = take(CYCLE_SUM_PREFIX);
  if (!cycle.ok) return cycle;
  if (byName.size > 0) return fail('layout-mismatch', `the file has outer tensors for no parameter: ${[...byName.keys()].slice(0, 5).join(', ')}`);
  if (momentum.value === null) return fail('bad-field', 'the file has outer cycle sums without the momentum they belong to');
  const counts = parseCounts(file.metadata[META.outerCycleMerges]);
  if (counts === undefined) return fail('bad-field', `metadata ${META.outerCycleMerges} is ${JSON.stringify(file.metadata[META.outerCycleMerges])}, want a list of integers >= 0`);
  if (cycle.value === null && counts.some((c) => c > 0)) return fail('bad-field', `metadata ${META.outerCycleMerges} names open cycles, and the file has no ${CYCLE_SUM_PREFIX} tensors`);
  const keepCycles = cycle.value !== null && counts.length === fragments.length; // another P: cycles dropped (header comment)
  const b = momentum.value, acc = cycle.value;
  return ok(fragments.map((f, p) => (keepCycles && counts[p]! > 0
    ? { buf: gather(b, f), acc: gather(acc!, f), count: counts[p]! }
    : { buf: gather(b, f), acc: null, count: 0 })));
}

/** Absent means no open cycle; otherwise a JSON list of integers ≥ 0 (undefined when it is not one). */
function parseCounts(s: string | undefined): number[] | undefined {
  if (s === undefined) return [];
  try {
    const v: unknown = JSON.parse(s);
    return Array.isArray(v) && v.every((x) => Number.isSafeInteger(x) && x >= 0) ? (v as number[]) : undefined;
  } catch {
    return undefined;
  }
}
