/**
 * Seeded parameter initialisation in plain JavaScript, so every tab (and the coordinator, which may
 * not run TF.js at all) builds bit-identical initial weights from the same seed (docs/method.md §2).
 *
 * Why not tf.randomNormal(seed): its output depends on the backend. Why not a Box–Muller normal:
 * Math.log and Math.cos are not correctly rounded, and V8, SpiderMonkey and JavaScriptCore may
 * differ in the last bit. A uniform draw with the wanted standard deviation needs only IEEE
 * multiply/add (correctly rounded everywhere), so it is exactly reproducible.
 */
import { makeLayout, makeRng, type TensorSpec } from '@tabswarm/core';

export type ParamInit =
  | { kind: 'zeros' }
  | { kind: 'ones' }
  /** Uniform on [-std·√3, std·√3): mean 0, standard deviation std. */
  | { kind: 'uniform'; std: number };

/** A tensor's layout entry plus how to initialise it. Models list these in their fixed order. */
export interface ParamDef {
  spec: TensorSpec;
  init: ParamInit;
}

/** Elements in a shape. */
export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((n, d) => n * d, 1);
}

/**
 * The initial flat parameter vector in layout order. One rng stream is consumed tensor by tensor in
 * that order (constant tensors consume nothing), so the result depends only on the defs and the seed.
 */
export function initParams(defs: readonly ParamDef[], seed: number): Float32Array {
  const layout = makeLayout(defs.map((d) => d.spec));
  const out = new Float32Array(layout.totalSize);
  const rng = makeRng(seed);
  defs.forEach((def, i) => {
    const entry = layout.tensors[i];
    if (entry === undefined) throw new Error(`initParams: no layout entry for ${def.spec.name}`);
    const span = out.subarray(entry.offset, entry.offset + entry.size);
    if (def.init.kind === 'ones') span.fill(1);
    else if (def.init.kind === 'uniform') {
      const half = def.init.std * Math.sqrt(3); // sqrt is correctly rounded (IEEE 754)
      for (let k = 0; k < span.length; k++) span[k] = (2 * rng.next() - 1) * half;
    }
  });
  return out;
}
