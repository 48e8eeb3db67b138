/**
 * The inner optimizer: AdamW (decoupled weight decay, Loshchilov & Hutter) with global-norm gradient
 * clipping, in TF.js ops so the update runs where the weights live. The same arithmetic as core's
 * flat-array AdamW in sim/adamw.ts and as torch.optim.AdamW:
 *
 *   g ← g · min(1, clip / ‖g‖₂)            (‖g‖ over all tensors together)
 *   m ← β1·m + (1−β1)·g,  v ← β2·v + (1−β2)·g²,  t ← t + 1
 *   p ← p·(1 − lr·wd) − lr · (m / (1−β1ᵗ)) / (√(v / (1−β2ᵗ)) + ε)      (wd only where decay[i])
 *
 * Moments are Variables that live across syncs: adopting a merged fragment never resets them
 * (docs/method.md §3). resetOptimizer() exists for a rejoining learner that starts over.
 */
import * as tf from '@tensorflow/tfjs';

export interface AdamWConfig {
  beta1: number;
  beta2: number;
  eps: number;
  /** Decoupled weight decay per unit learning rate (PyTorch convention: the step multiplies by 1 − lr·wd). */
  weightDecay: number;
  /** Global gradient-norm ceiling; Infinity disables clipping. */
  clip: number;
}

/** docs/method.md §3: β = (0.9, 0.99), wd 0.1, clip 1.0. */
export const DEFAULT_ADAMW: AdamWConfig = { beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.1, clip: 1 };

/**
 * The whole update runs on flat [N] vectors (moments are two flat Variables), then is split back per
 * tensor: about 15 + #tensors kernels per step instead of ≈14 per tensor, which matters on WebGPU
 * where each kernel is a dispatch (≈700 fewer for the default GPT's 52 tensors).
 */
/** AdamW's moments (flat, layout order) and its step count, which drives bias correction. */
export interface AdamWState {
  m: Float32Array;
  v: Float32Array;
  steps: number;
}

export class AdamW {
  private readonly m: tf.Variable;
  private readonly v: tf.Variable;
  /** 1 where the tensor is decayed, 0 elsewhere; [N]. Absent when nothing is decayed. */
  private readonly decayMask: tf.Tensor1D | undefined;
  private readonly sizes: number[];
  private t = 0;

  constructor(
    private readonly params: readonly tf.Variable[],
    decay: readonly boolean[],
    readonly cfg: AdamWConfig = DEFAULT_ADAMW,
  ) {
    if (decay.length !== params.length) throw new Error(`adamw: ${decay.length} decay flags for ${params.length} params`);
    const { beta1, beta2, eps, clip } = cfg;
    if (!(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1 && eps > 0 && cfg.weightDecay >= 0 && clip > 0)) {
      throw new Error(`adamw: bad config ${JSON.stringify(cfg)}`);
    }
    this.sizes = params.map((p) => p.size);
    const total = this.sizes.reduce((a, b) => a + b, 0);
    this.m = tf.tidy(() => tf.variable(tf.zeros([total]), false));
    this.v = tf.tidy(() => tf.variable(tf.zeros([total]), false));
    if (cfg.weightDecay > 0 && decay.some(Boolean)) {
      const mask = new Float32Array(total);
      let at = 0;
      params.forEach((p, i) => {
        if (decay[i]) mask.fill(1, at, at + p.size);
        at += p.size;
      });
      this.decayMask = tf.tensor1d(mask);
    }
  }

  /** Steps taken since construction or the last reset (drives bias correction). */
  get steps(): number {
    return this.t;
  }

  /**
   * One update from grads (same order as params). Call inside tf.tidy: the temporaries are the
   * caller's scope. Returns the global gradient norm before clipping, as a scalar tensor.
   */
  apply(grads: readonly tf.Tensor[], lr: number): tf.Scalar {
    if (grads.length !== this.params.length) throw new Error(`adamw: ${grads.length} grads for ${this.params.length} params`);
    if (!(lr >= 0 && Number.isFinite(lr))) throw new Error(`adamw: learning rate ${lr}`);
    const { beta1, beta2, eps, weightDecay, clip } = this.cfg;
    const flat = (ts: readonly tf.Tensor[]): tf.Tensor1D => tf.concat(ts.map((x) => tf.reshape(x, [-1]))) as tf.Tensor1D;
    const g = flat(grads);
    const norm = tf.sqrt(tf.sum(tf.square(g))) as tf.Scalar;
    // clip / max(‖g‖, clip) is 1 below the ceiling and clip/‖g‖ above it, with no data-dependent branch.
    const clipped = Number.isFinite(clip) ? tf.mul(g, tf.div(clip, tf.maximum(norm, clip))) : g;
    this.t += 1;
    const c1 = 1 - beta1 ** this.t;
    const c2 = 1 - beta2 ** this.t;
    this.m.assign(tf.add(tf.mul(this.m, beta1), tf.mul(clipped, 1 - beta1)));
    this.v.assign(tf.add(tf.mul(this.v, beta2), tf.mul(tf.square(clipped), 1 - beta2)));
    const adam = tf.div(tf.div(this.m, c1), tf.add(tf.sqrt(tf.div(this.v, c2)), eps));
    // p ← p − lr·adam − lr·wd·mask·p, i.e. p·(1 − lr·wd) − lr·adam on the decayed tensors.
    let delta = tf.mul(adam, lr);
    if (this.decayMask !== undefined) delta = tf.add(delta, tf.mul(tf.mul(flat(this.params), this.decayMask), lr * weightDecay));
    const parts = tf.split(delta, this.sizes);
    this.params.forEach((p, i) => p.assign(tf.sub(p, tf.reshape(parts[i] as tf.Tensor, p.shape))));
    return norm;
  }

  /** Moments and step count, read back: what a move to another backend carries over (TrainerCore.switchBackend). */
  async state(): Promise<AdamWState> {
    const [m, v] = await Promise.all([this.m.data<'float32'>(), this.v.data<'float32'>()]);
    return { m: Float32Array.from(m), v: Float32Array.from(v), steps: this.t };
  }

  /** Restores what state() read, on this optimizer's backend. */
  setState(s: AdamWState): void {
    if (s.m.length !== this.m.size || s.v.length !== this.v.size || !(Number.isInteger(s.steps) && s.steps >= 0)) {
      throw new Error(`adamw: state of ${s.m.length}/${s.v.length} moments at step ${s.steps}, want ${this.m.size} each`);
    }
    tf.tidy(() => {
      this.m.assign(tf.tensor1d(s.m));
      this.v.assign(tf.tensor1d(s.v));
    });
    this.t = s.steps;
  }

  /** Zero moments and the step count: for a learner that rejoins from a fresh snapshot. */
  reset(): void {
    tf.tidy(() => {
      this.m.assign(tf.zerosLike(this.m));
      this.v.assign(tf.zerosLike(this.v));
    });
    this.t = 0;
  }

  dispose(): void {
    this.m.dispose();
    this.v.dispose();
    this.decayMask?.dispose();
  }
}
