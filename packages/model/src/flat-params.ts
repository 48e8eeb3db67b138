/**
 * The seam between TF.js Variables and core's flat Float32Array world: the whole vector in layout
 * order, or one fragment (core/fragments.ts) of it, whose segments are whole tensors or row ranges
 * [rowStart, rowStart + rows) of one. Readbacks are async (`await t.data()`), never dataSync, which
 * would stall the worker on a GPU→CPU copy. Each read snapshots what it reads first (tf.clone shares
 * the buffer, no copy; tf.slice holds its own reference), so an optimizer step that reassigns the
 * Variables while the copy is in flight cannot change or free what is being read.
 */
import * as tf from '@tensorflow/tfjs';
import { makeLayout, validateFragment, type Fragment, type ParamLayout, type Segment, type TensorEntry, type TensorSpec } from '@tabswarm/core';

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

  /** Fragment f's vector (core's gather order): only its tensors, or their row ranges, are read back. */
  async read(f: Fragment): Promise<Float32Array> {
    this.check(f);
    const snaps = f.segments.map((s) => this.snapshot(s));
    try {
      const datas = await Promise.all(snaps.map((s) => s.data<'float32'>()));
      const out = new Float32Array(f.size);
      f.segments.forEach((s, i) => out.set(datas[i] as Float32Array, s.dstOffset));
      return out;
    } finally {
      for (const s of snaps) s.dispose();
    }
  }

  /** Writes fragment f's vector into its tensors (core's scatter); a row range keeps the tensor's other rows. */
  write(f: Fragment, values: Float32Array): void {
    if (values.length !== f.size) throw new Error(`writeFragment: ${values.length} values for fragment ${f.index} of ${f.size}`);
    this.check(f);
    tf.tidy(() => {
      for (const s of f.segments) this.assignRows(s, values);
    });
  }

  /** Refuses a fragment planned for another layout before anything is read or written. */
  private check(f: Fragment): void {
    const r = validateFragment(this.layout, f);
    if (!r.ok) throw new Error(`fragment does not fit this model: ${r.detail}`);
  }

  private slot(name: string): { entry: TensorEntry; variable: tf.Variable } {
    const hit = this.byName.get(name);
    if (hit === undefined) throw new Error(`params: no tensor ${name}`);
    return hit;
  }

  private snapshot(s: Segment): tf.Tensor {
    const { entry, variable } = this.slot(s.name);
    if (s.size === entry.size) return tf.clone(variable);
    return tf.slice(variable, rowBegin(entry, s.rowStart), rowExtent(entry, s.rows));
  }

  /** Copies (slice, not subarray): the CPU backend keeps the array it is given, and callers reuse theirs. */
  private assign(name: string, src: Float32Array, from: number): void {
    const { entry, variable } = this.slot(name);
    variable.assign(tf.tensor(src.slice(from, from + entry.size), [...entry.shape], 'float32'));
  }

  /** Segment s of a fragment vector into its rows; the rows around it are re-used on the device, never read back. */
  private assignRows(s: Segment, values: Float32Array): void {
    const { entry, variable } = this.slot(s.name);
    if (s.size === entry.size) {
      this.assign(s.name, values, s.dstOffset);
      return;
    }
    const fresh = tf.tensor(values.slice(s.dstOffset, s.dstOffset + s.size), rowExtent(entry, s.rows), 'float32');
    const end = s.rowStart + s.rows, total = entry.shape[0] ?? 0;
    const parts: tf.Tensor[] = [];
    if (s.rowStart > 0) parts.push(tf.slice(variable, rowBegin(entry, 0), rowExtent(entry, s.rowStart)));
    parts.push(fresh);
    if (end < total) parts.push(tf.slice(variable, rowBegin(entry, end), rowExtent(entry, total - end)));
    variable.assign(tf.concat(parts, 0));
  }
}

/** Start of row `row` as a tf.slice begin: [row, 0, 0, …]. */
function rowBegin(entry: TensorEntry, row: number): number[] {
  return entry.shape.map((_, i) => (i === 0 ? row : 0));
}

/** Shape of `rows` whole rows: [rows, …the other dims]. */
function rowExtent(entry: TensorEntry, rows: number): number[] {
  return entry.shape.map((d, i) => (i === 0 ? rows : d));
}
