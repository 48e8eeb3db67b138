/**
 * A character-level GPT in TF.js ops (nanoGPT's shape): token + learned position embeddings,
 * `layers` pre-LayerNorm blocks of causal multi-head self-attention and a 4× GELU MLP, a final
 * LayerNorm and an untied output head. No training loop, no I/O: see trainer.ts.
 *
 * Parameter count: (V + T)·d + L·(12d² + 13d) + 2d + d·V + V
 *   default (V = 78 Moby-Dick chars, T = 128, L = 4, d = 192, 4 heads): 1,834,446
 *   tiny    (V = 78,                 T = 32,  L = 1, d = 32,  2 heads):    18,862
 */
import * as tf from '@tensorflow/tfjs';
import type { TensorSpec } from '@tabswarm/core';
import { initParams, type ParamDef } from './init';
import { TEXT_PRESETS } from './presets';
import { createVariables, gelu, layerNorm, linear, type Model } from './nn';

export interface GptConfig {
  /** Vocabulary size (characters + UNK). */
  vocab: number;
  /** Context length in tokens. */
  context: number;
  layers: number;
  dModel: number;
  heads: number;
  /** Dropout after the embedding, the attention probabilities and each residual branch; 0 disables. */
  dropout: number;
}

/** The default of docs/method.md §3 (≈1.8M params): small for a character model, fast on laptops' iGPUs. */
export const GPT_DEFAULT: Omit<GptConfig, 'vocab'> = TEXT_PRESETS.default.gpt;

/** One block, milliseconds per step on CPU: unit tests, and the preset a CPU laptop trains visibly. */
export const GPT_TINY: Omit<GptConfig, 'vocab'> = TEXT_PRESETS.tiny.gpt;

/** GPT-2 init: weights N(0, 0.02²), residual projections shrunk by 1/√(2L) so the stream's variance stays O(1). */
const INIT_STD = 0.02;

/**
 * Added to attention scores above the diagonal. exp(-1e4) underflows to exactly 0 in fp32, and
 * -1e4 still fits fp16 (max 65504), which some mobile GPUs use for activations.
 */
const MASKED = -1e4;

export function gptParamCount(c: GptConfig): number {
  const d = c.dModel;
  return (c.vocab + c.context) * d + c.layers * (12 * d * d + 13 * d) + 2 * d + d * c.vocab + c.vocab;
}

/**
 * Tensors in their fixed order with stable names. Embedding-like tensors (token and position
 * embeddings, and the untied unembedding head) are kind 'embedding': core merges them by direct
 * averaging and isolates them in their own fragments (docs/method.md §2, §5). Block tensors carry
 * layer = block index.
 */
export function gptDefs(c: GptConfig): ParamDef[] {
  checkConfig(c);
  const d = c.dModel;
  const resStd = INIT_STD / Math.sqrt(2 * c.layers);
  const defs: ParamDef[] = [];
  const add = (name: string, shape: number[], init: ParamDef['init'], kind: TensorSpec['kind'] = 'dense', layer?: number): void => {
    const spec: TensorSpec = { name, shape, kind };
    if (layer !== undefined) spec.layer = layer;
    defs.push({ spec, init });
  };
  const normal = (std: number): ParamDef['init'] => ({ kind: 'uniform', std });
  add('tok_emb', [c.vocab, d], normal(INIT_STD), 'embedding');
  add('pos_emb', [c.context, d], normal(INIT_STD), 'embedding');
  for (let l = 0; l < c.layers; l++) {
    const h = `h${l}`;
    add(`${h}.ln1.g`, [d], { kind: 'ones' }, 'dense', l);
    add(`${h}.ln1.b`, [d], { kind: 'zeros' }, 'dense', l);
    add(`${h}.attn.qkv.w`, [d, 3 * d], normal(INIT_STD), 'dense', l);
    add(`${h}.attn.qkv.b`, [3 * d], { kind: 'zeros' }, 'dense', l);
    add(`${h}.attn.proj.w`, [d, d], normal(resStd), 'dense', l);
    add(`${h}.attn.proj.b`, [d], { kind: 'zeros' }, 'dense', l);
    add(`${h}.ln2.g`, [d], { kind: 'ones' }, 'dense', l);
    add(`${h}.ln2.b`, [d], { kind: 'zeros' }, 'dense', l);
    add(`${h}.mlp.fc.w`, [d, 4 * d], normal(INIT_STD), 'dense', l);
    add(`${h}.mlp.fc.b`, [4 * d], { kind: 'zeros' }, 'dense', l);
    add(`${h}.mlp.proj.w`, [4 * d, d], normal(resStd), 'dense', l);
    add(`${h}.mlp.proj.b`, [d], { kind: 'zeros' }, 'dense', l);
  }
  add('ln_f.g', [d], { kind: 'ones' });
  add('ln_f.b', [d], { kind: 'zeros' });
  add('head.w', [d, c.vocab], normal(INIT_STD), 'embedding');
  add('head.b', [c.vocab], { kind: 'zeros' }, 'embedding');
  return defs;
}

export function gptSpecs(c: GptConfig): TensorSpec[] {
  return gptDefs(c).map((d) => d.spec);
}

/** The initial weights as one flat vector in layout order (pure JS; identical on every tab for a seed). */
export function gptInit(c: GptConfig, seed: number): Float32Array {
  return initParams(gptDefs(c), seed);
}

/**
 * Builds the model's Variables from the seeded init. Weight decay goes to the matrices of the
 * blocks and the head only: not to biases, LayerNorm gains or the embeddings (minGPT's choice;
 * decaying a rare character's embedding would pull it to 0 between its few updates).
 */
export function createGpt(c: GptConfig, seed: number): Model & { config: GptConfig } {
  const defs = gptDefs(c);
  const params = createVariables(defs, initParams(defs, seed));
  const decay = defs.map((d) => (d.spec.shape.length === 2 && d.spec.kind === 'dense') || d.spec.name === 'head.w');
  const byName = new Map(defs.map((d, i) => [d.spec.name, params[i] as tf.Variable]));
  const p = (name: string): tf.Variable => {
    const v = byName.get(name);
    if (v === undefined) throw new Error(`gpt: no parameter ${name}`);
    return v;
  };
  // mask[i][j] = MASKED where j > i (a position may not attend to later ones); kept for the model's life.
  const mask = tf.tidy(() => tf.mul(tf.sub(1, tf.linalg.bandPart(tf.ones([c.context, c.context]), -1, 0)), MASKED));
  const hs = c.dModel / c.heads;

  function logits(x: tf.Tensor, dropoutSeed?: number): tf.Tensor2D {
    const [B, T] = x.shape as [number, number];
    if (x.rank !== 2 || T > c.context) throw new Error(`gpt: input shape [${x.shape.join(', ')}], want [batch, <= ${c.context}]`);
    let site = 0; // each dropout site gets its own seed, so masks differ between sites and steps
    const drop = <R extends tf.Tensor>(t: R): R =>
      dropoutSeed === undefined || c.dropout === 0 ? t : (tf.dropout(t, c.dropout, undefined, dropoutSeed * 1009 + site++) as R);
    const N = B * T;
    const ids = tf.reshape(x, [N]).toInt();
    // Embedding lookup as one-hot · table: a plain matMul forward and backward on every backend. [N, d]
    const tok = tf.matMul(tf.oneHot(ids, c.vocab).toFloat(), p('tok_emb'));
    const pos = tf.slice(p('pos_emb'), [0, 0], [T, c.dModel]);
    let h = drop(tf.reshape(tf.add(tf.reshape(tok, [B, T, c.dModel]), pos), [N, c.dModel]) as tf.Tensor2D);
    const causal = tf.slice(mask, [0, 0], [T, T]);
    for (let l = 0; l < c.layers; l++) {
      const b = `h${l}`;
      const a = attention(layerNorm(h, p(`${b}.ln1.g`), p(`${b}.ln1.b`)), b, B, T, causal, drop);
      h = tf.add(h, drop(linear(a, p(`${b}.attn.proj.w`), p(`${b}.attn.proj.b`))));
      const m = gelu(linear(layerNorm(h, p(`${b}.ln2.g`), p(`${b}.ln2.b`)), p(`${b}.mlp.fc.w`), p(`${b}.mlp.fc.b`)));
      h = tf.add(h, drop(linear(m, p(`${b}.mlp.proj.w`), p(`${b}.mlp.proj.b`))));
    }
    return linear(layerNorm(h, p('ln_f.g'), p('ln_f.b')), p('head.w'), p('head.b')); // [N, V]
  }

  /** Causal multi-head self-attention on normalised x [B·T, d]; returns the heads concatenated, [B·T, d]. */
  function attention(x: tf.Tensor2D, b: string, B: number, T: number, causal: tf.Tensor, drop: <R extends tf.Tensor>(t: R) => R): tf.Tensor2D {
    const qkv = linear(x, p(`${b}.attn.qkv.w`), p(`${b}.attn.qkv.b`)); // [B·T, 3d]
    const heads = (t: tf.Tensor): tf.Tensor4D => tf.transpose(tf.reshape(t, [B, T, c.heads, hs]), [0, 2, 1, 3]); // [B, H, T, hs]
    const [q, k, v] = tf.split(qkv, 3, 1).map(heads) as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
    const scores = tf.add(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(hs)), causal); // [B, H, T, T]
    const y = tf.matMul(drop(tf.softmax(scores)), v); // [B, H, T, hs]
    return tf.reshape(tf.transpose(y, [0, 2, 1, 3]), [B * T, c.dModel]);
  }

  return {
    config: c,
    defs,
    params,
    decay,
    logits,
    dispose: () => {
      mask.dispose();
      for (const v of params) v.dispose();
    },
  };
}

function checkConfig(c: GptConfig): void {
  const ints = [c.vocab, c.context, c.layers, c.dModel, c.heads];
  if (!ints.every((n) => Number.isInteger(n) && n > 0)) throw new Error(`gpt: config ${JSON.stringify(c)} needs positive integers`);
  if (c.dModel % c.heads !== 0) throw new Error(`gpt: dModel ${c.dModel} is not divisible by heads ${c.heads}`);
  if (!(c.dropout >= 0 && c.dropout < 1)) throw new Error(`gpt: dropout ${c.dropout}, want [0, 1)`);
}
