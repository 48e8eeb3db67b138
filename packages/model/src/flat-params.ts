/**
 * The seam between TF.js Variables and core's flat Float32Array world: the whole vector in layout
 * order, or one fragment (core/fragments.ts) of it. Readbacks are async (`await t.data()`), never
 * dataSync, which would stall the worker on a GPU→CPU copy. Each read snapshots the Variables first
 * (tf.clone shares the buffer, no copy), so an optimizer step that reassigns them while the copy is
 * in flight cannot change or free what is being read.
 */
import * as tf from '@tensorflow/tfjs';
import { makeLayout, type Fragment, type ParamLayout, type TensorEntry, type TensorSpec } from '@tabswarm/core';

export class FlatParams {
  readonly layout: ParamLayout;
  private readonly byName: Map<string, { entry: TensorEntry; variable: tf.Variable }>;

  constructor(specs: readonly TensorSpec[], private readonly params: readonly tf.Variable[]) {
    this.layout = makeLayout(specs);
    if (params.length !== this.layout.tensors.length) throw new Error(`params: ${params.length} variables for ${this.layout.tensors.length} specs`);
    this.byName = new Map(this.layout.tensors.map((entry, i) => {
      const variable = params[i] as tf.Variable;
      if (variable.size !== entry.size) throw new Error(`params: ${entry.name} has ${variable.size} elements, spec says ${entry.size}`);
      return [entry.name, { entry, variable }];
    }));
  }

  /** All parameters, layout order. */
  async get(): Promise<Float32Array> {
    const snaps = this.params.map((v) => tf.clone(v));
    try {
      const datas = await Promise.all(snaps.map((s) => s.data<'float32'>()));
      const out = new Float32Array(this.layout.totalSize);
      this.layout.tensors.forEach((e, i) => out.set(datas[i] as Float32Array, e.offset));
      return out;
    } finally {
      for (const s of snaps) s.dispose();
    }
  }

  set(flat: Float32Array): void {
    if (flat.length !== this.layout.totalSize) throw new Error(`setParams: ${flat.length} values, model has ${this.layout.totalSize}`);
    tf.tidy(() => {
      for (const e of this.layout.tensors) this.assign(e.name, flat, e.offset);
    });
  }

  /** Fragment f's vector (core's gather order): only its tensors are read back. */
  async read(f: Fragment): Promise<Float32Array> {
    const snaps = f.segments.map((s) => tf.clone(this.lookup(s.name, s.size)));
    try {
      const datas = await Promise.all(snaps.map((s) => s.data<'float32'>()));
      const out = new Float32Array(f.size);
      f.segments.forEach((s, i) => out.set(datas[i] as Float32Array, s.dstOffset));
      return out;
    } finally {
      for (const s of snaps) s.dispose();
    }
  }

  /** Writes fragment f's vector into its tensors (core's scatter). */
  write(f: Fragment, values: Float32Array): void {
    if (values.length !== f.size) throw new Error(`writeFragment: ${values.length} values for fragment ${f.index} of ${f.size}`);
    for (const s of f.segments) this.lookup(s.name, s.size);
    tf.tidy(() => {
      for (const s of f.segments) this.assign(s.name, values, s.dstOffset);
    });
  }

  private lookup(name: string, size: number): tf.Variable {
    const hit = this.byName.get(name);
    if (hit === undefined) throw new Error(`fragment names tensor ${name}, which this model does not have`);
    if (hit.entry.size !== size) throw new Error(`fragment segment ${name} has ${size} elements, model tensor has ${hit.entry.size}`);
    return hit.variable;
  }

  /** Copies (slice, not subarray): the CPU backend keeps the array it is given, and callers reuse theirs. */
  private assign(name: string, src: Float32Array, from: number): void {
    const hit = this.byName.get(name);
    if (hit === undefined) throw new Error(`params: no tensor ${name}`);
    hit.variable.assign(tf.tensor(src.slice(from, from + hit.entry.size), [...hit.entry.shape], 'float32'));
  }
}
