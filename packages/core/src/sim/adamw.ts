/**
 * AdamW (decoupled weight decay) on a flat Float32Array, with global-norm gradient clipping.
 * Moments persist across syncs: DiLoCo-family methods never reset the inner optimizer (docs/method.md §3).
 */
export interface AdamWConfig { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number; clip: number }

export const DEFAULT_ADAMW: AdamWConfig = { lr: 1e-2, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.01, clip: 1 };

export class AdamW {
  private readonly m: Float32Array;
  private readonly v: Float32Array;
  private t = 0;

  constructor(size: number, readonly cfg: AdamWConfig = DEFAULT_ADAMW) {
    this.m = new Float32Array(size);
    this.v = new Float32Array(size);
  }

  step(params: Float32Array, grad: Float32Array, lr = this.cfg.lr): void {
    const { beta1, beta2, eps, weightDecay, clip } = this.cfg;
    let sq = 0;
    for (let i = 0; i < grad.length; i++) sq += grad[i]! * grad[i]!;
    const scale = Math.sqrt(sq) > clip ? clip / Math.sqrt(sq) : 1;
    this.t++;
    const c1 = 1 - beta1 ** this.t, c2 = 1 - beta2 ** this.t;
    for (let i = 0; i < params.length; i++) {
      const g = grad[i]! * scale;
      const m = (this.m[i] = beta1 * this.m[i]! + (1 - beta1) * g);
      const v = (this.v[i] = beta2 * this.v[i]! + (1 - beta2) * g * g);
      params[i] = params[i]! * (1 - lr * weightDecay) - (lr * (m / c1)) / (Math.sqrt(v / c2) + eps);
    }
  }
}
