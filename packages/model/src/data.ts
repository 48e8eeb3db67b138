/**
 * The two workloads' datasets, built from the bytes of their files (data-format.ts); fetching them is
 * load-dataset.ts. Learners sample i.i.d. (random text windows, random digit examples) from the whole
 * training split with their own seeded rng, not contiguous per-tab shards, which would be strongly
 * non-i.i.d. for text (docs/method.md §3). Held-out batches are fixed so evaluations compare across tabs.
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '@tabswarm/core';
import { DATA_FILES, DIGIT_CLASSES, DIGIT_FEATURES, DIGIT_RECORD_BYTES, type DigitsMeta, type VocabFile, type Workload } from './data-format';

/** Tensors owned by the caller (dispose them, or build them inside tf.tidy). */
export interface Batch {
  /** text: int32 [B, T] token ids; digits: float32 [B, 784] pixels in [0, 1]. */
  x: tf.Tensor;
  /** text: int32 [B, T] next-token ids; digits: int32 [B] labels. */
  y: tf.Tensor;
  /** Predicted targets in the batch: B·T characters for text, B examples for digits. */
  tokens: number;
}

interface DatasetBase {
  /** Examples in the training split: text tokens, or digit images. */
  trainSize: number;
  valSize: number;
  /** A fresh i.i.d. batch drawn with the caller's rng. */
  sampleBatch(rng: Rng, batch: number): Batch;
  /** The fixed held-out batch (same data on every call and every tab); new tensors each call. */
  heldOut(): Batch;
}

export interface TextDataset extends DatasetBase {
  workload: 'text';
  /** Characters + UNK. */
  vocabSize: number;
  /** Character of each id; the UNK id maps to U+FFFD. */
  chars: readonly string[];
  /** Window length in tokens; x and y are both this long. */
  context: number;
  decode(ids: ArrayLike<number>): string;
}

export interface DigitsDataset extends DatasetBase {
  workload: 'digits';
  classes: number;
  features: number;
}

export type Dataset = TextDataset | DigitsDataset;

export interface DatasetOptions {
  /** Text window length in tokens: the model's context. Default 128 (docs/method.md §3). */
  context?: number;
  /** Held-out size: text windows of `context` tokens (default 64, ≈8k chars), or digit examples (default all of val). */
  heldOut?: number;
}

export const DEFAULT_CONTEXT = 128;
const DEFAULT_HELD_OUT_WINDOWS = 64;

/** Builds a dataset from its files' bytes, keyed by file name (DATA_FILES[workload]). Throws on malformed files. */
export function fromBytes(workload: Workload, files: Record<string, Uint8Array>, opts: DatasetOptions = {}): Dataset {
  for (const name of DATA_FILES[workload]) if (!(files[name] instanceof Uint8Array)) throw new Error(`${workload} data: missing ${name}`);
  const file = (name: string): Uint8Array => files[name] as Uint8Array;
  if (workload === 'text') return textDataset(parseJson<VocabFile>(file('vocab.json'), 'vocab.json'), file('train.bin'), file('val.bin'), opts);
  return digitsDataset(parseJson<DigitsMeta>(file('meta.json'), 'meta.json'), file('train.bin'), file('val.bin'), opts);
}

function textDataset(vocab: VocabFile, train: Uint8Array, val: Uint8Array, opts: DatasetOptions): TextDataset {
  if (!Array.isArray(vocab.chars) || vocab.unk !== vocab.chars.length || vocab.vocabSize !== vocab.chars.length + 1) {
    throw new Error(`vocab.json: want unk = chars.length and vocabSize = chars.length + 1, got ${vocab.chars?.length} chars, unk ${vocab.unk}, vocabSize ${vocab.vocabSize}`);
  }
  const V = vocab.vocabSize;
  const T = opts.context ?? DEFAULT_CONTEXT;
  if (!Number.isInteger(T) || T < 1) throw new Error(`text data: context ${T}`);
  for (const [name, ids] of [['train.bin', train], ['val.bin', val]] as const) {
    if (ids.length < T + 1) throw new Error(`text data: ${name} has ${ids.length} tokens, need at least context + 1 = ${T + 1}`);
    const bad = ids.findIndex((id) => id >= V);
    if (bad >= 0) throw new Error(`text data: ${name}[${bad}] = ${ids[bad]} is not below vocabSize ${V}`);
  }
  const windows = Math.min(opts.heldOut ?? DEFAULT_HELD_OUT_WINDOWS, val.length - T);
  // Evenly spaced window starts over the whole validation text, so evaluation sees every part of it.
  const heldStarts = Array.from({ length: windows }, (_, i) => Math.floor((i * (val.length - T - 1)) / Math.max(1, windows - 1)));
  const chars = [...vocab.chars, '\uFFFD'];

  const windowsBatch = (ids: Uint8Array, starts: readonly number[]): Batch => {
    const B = starts.length;
    const x = new Int32Array(B * T);
    const y = new Int32Array(B * T);
    starts.forEach((s, b) => {
      x.set(ids.subarray(s, s + T), b * T);
      y.set(ids.subarray(s + 1, s + T + 1), b * T);
    });
    return { x: tf.tensor2d(x, [B, T], 'int32'), y: tf.tensor2d(y, [B, T], 'int32'), tokens: B * T };
  };

  return {
    workload: 'text',
    vocabSize: V,
    chars,
    context: T,
    trainSize: train.length,
    valSize: val.length,
    sampleBatch: (rng, batch) => windowsBatch(train, Array.from({ length: checkBatch(batch) }, () => rng.int(train.length - T))),
    heldOut: () => windowsBatch(val, heldStarts),
    decode: (ids) => Array.from(ids, (id) => chars[id] ?? '\uFFFD').join(''),
  };
}

function digitsDataset(meta: DigitsMeta, train: Uint8Array, val: Uint8Array, opts: DatasetOptions): DigitsDataset {
  if (meta.features !== DIGIT_FEATURES || meta.classes !== DIGIT_CLASSES || meta.recordBytes !== DIGIT_RECORD_BYTES) {
    throw new Error(`meta.json: want ${DIGIT_FEATURES} features, ${DIGIT_CLASSES} classes, ${DIGIT_RECORD_BYTES}-byte records; got ${JSON.stringify(meta)}`);
  }
  for (const [name, bytes, count] of [['train.bin', train, meta.train], ['val.bin', val, meta.val]] as const) {
    if (count < 1 || bytes.length !== count * DIGIT_RECORD_BYTES) {
      throw new Error(`digits data: ${name} has ${bytes.length} bytes, meta.json says ${count} records of ${DIGIT_RECORD_BYTES}`);
    }
    for (let r = 0; r < count; r++) {
      const label = bytes[r * DIGIT_RECORD_BYTES + DIGIT_FEATURES] ?? 0;
      if (label >= DIGIT_CLASSES) throw new Error(`digits data: ${name} record ${r} has label ${label}`);
    }
  }
  const held = Math.min(opts.heldOut ?? meta.val, meta.val);
  const heldIdx = Array.from({ length: held }, (_, i) => i);

  const records = (bytes: Uint8Array, idx: readonly number[]): Batch => {
    const B = idx.length;
    const x = new Float32Array(B * DIGIT_FEATURES);
    const y = new Int32Array(B);
    idx.forEach((r, b) => {
      const at = r * DIGIT_RECORD_BYTES;
      for (let p = 0; p < DIGIT_FEATURES; p++) x[b * DIGIT_FEATURES + p] = (bytes[at + p] ?? 0) / 255;
      y[b] = bytes[at + DIGIT_FEATURES] ?? 0;
    });
    return { x: tf.tensor2d(x, [B, DIGIT_FEATURES], 'float32'), y: tf.tensor1d(y, 'int32'), tokens: B };
  };

  return {
    workload: 'digits',
    classes: DIGIT_CLASSES,
    features: DIGIT_FEATURES,
    trainSize: meta.train,
    valSize: meta.val,
    sampleBatch: (rng, batch) => records(train, Array.from({ length: checkBatch(batch) }, () => rng.int(meta.train))),
    heldOut: () => records(val, heldIdx),
  };
}

function checkBatch(batch: number): number {
  if (!Number.isInteger(batch) || batch < 1) throw new Error(`sampleBatch: batch ${batch}, want a positive integer`);
  return batch;
}

function parseJson<T>(bytes: Uint8Array, name: string): T {
  try {
    return JSON.parse(new TextDecoder().decode(bytes)) as T;
  } catch (e) {
    throw new Error(`${name}: not JSON (${(e as Error).message})`);
  }
}
