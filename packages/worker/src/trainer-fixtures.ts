/** A model over a plain Float32Array for the trainer's tests, and a TrainerCore wired to it. */
import type { Fragment, TensorSpec } from '@tabswarm/core';
import type { BackendName } from './api';
import type { BackendInit, GpuDeviceLike } from './backends';
import type { ModelModule, OptimizerState, TrainModel } from './model-api';
import { TrainerCore } from './trainer';

export const SPECS: TensorSpec[] = [
  { name: 'w', shape: [2, 3], kind: 'dense' },
  { name: 'b', shape: [4], kind: 'dense' },
];
export const N = 10;
/** Fragment 1 = tensor 'b' (elements 6..9). */
export const FRAG_B: Fragment = { index: 1, size: 4, segments: [{ name: 'b', kind: 'dense', srcOffset: 6, dstOffset: 0, size: 4, rowStart: 0, rows: 4 }] };

/** A model over a plain Float32Array; `plan` scripts what each step does. */
export class FakeModel implements TrainModel {
  specs = SPECS;
  tokensPerStep = 128;
  params = new Float32Array(N);
  steps = 0;
  resets = 0;
  disposed = false;
  plan: Array<'ok' | 'throw' | 'nan' | 'nan-grad' | 'hang'> = [];
  async getParams(): Promise<Float32Array> {
    return this.params.slice();
  }
  setParams(flat: Float32Array): void {
    this.params.set(flat);
  }
  async readFragment(f: Fragment): Promise<Float32Array> {
    const out = new Float32Array(f.size);
    for (const s of f.segments) out.set(this.params.subarray(s.srcOffset, s.srcOffset + s.size), s.dstOffset);
    return out;
  }
  writeFragment(f: Fragment, values: Float32Array): void {
    for (const s of f.segments) this.params.set(values.subarray(s.dstOffset, s.dstOffset + s.size), s.srcOffset);
  }
  async step(lr: number): Promise<{ loss: number; gradNorm: number; optimizerSteps: number }> {
    const what = this.plan.shift() ?? 'ok';
    if (what === 'hang') return new Promise(() => undefined);
    this.params[0] = (this.params[0] ?? 0) + lr; // a half-applied update before failing, as a real backend might
    if (what === 'throw') throw new Error('kernel exploded');
    this.steps++;
    this.moments.steps++;
    return { loss: what === 'nan' ? NaN : 2 / this.steps, gradNorm: what === 'nan-grad' ? Infinity : 1, optimizerSteps: this.moments.steps };
  }
  async evaluate(): Promise<number> {
    return 1.5;
  }
  async sample(o: { prompt: string; length: number }): Promise<string> {
    return o.prompt + 'x'.repeat(o.length);
  }
  async predict(pixels: Float32Array): Promise<number[]> {
    return [pixels[0]!, 1 - pixels[0]!];
  }
  resetOptimizer(): void {
    this.resets++;
  }
  moments = { m: new Float32Array(N), v: new Float32Array(N), steps: 0 };
  async optimizerState(): Promise<OptimizerState> {
    return { m: this.moments.m.slice(), v: this.moments.v.slice(), steps: this.moments.steps };
  }
  setOptimizerState(s: OptimizerState): void {
    this.moments = { m: s.m.slice(), v: s.v.slice(), steps: s.steps };
  }
  dispose(): void {
    this.disposed = true;
  }
}

export function setup(device?: GpuDeviceLike) {
  const models: FakeModel[] = [];
  let loads = 0;
  const mod: ModelModule = {
    loadDataset: async () => ((loads++), { rows: 3 }),
    createTrainModel: () => {
      const m = new FakeModel();
      models.push(m);
      return m;
    },
  };
  const init = async (backend: BackendName): Promise<BackendInit> => ({ ok: true, backend, initMs: 1, ...(device ? { device } : {}) });
  let t = 0;
  const core = new TrainerCore(mod, init, () => (t += 10));
  const start = () => core.init({ workload: 'digits', dataBaseUrl: 'http://x/data/', batch: 4, seed: 1, backend: 'cpu' });
  return { core, models, start, loads: () => loads };
}

export const floats = (...v: number[]): ArrayBuffer => Float32Array.from(v).buffer;
