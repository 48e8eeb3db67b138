/**
 * A learner's trainable model: one of the two networks, its AdamW state, its data stream and the
 * flat-vector seam, behind the small TrainModel interface the worker drives. The learning rate is
 * passed in per step (the caller computes it with the core's lrAt from the coordinator's progress clock); nothing here
 * knows about rounds, fragments' schedules or the network.
 *
 * Every step runs in one tf.tidy and reads back one small tensor (loss and gradient norm) with an
 * async data() call: one GPU→CPU sync point per step, and no tensor outlives the step.
 */
import * as tf from '@tensorflow/tfjs';
import { makeRng, type Fragment, type ParamLayout, type TensorSpec } from '@tabswarm/core';
import { AdamW, DEFAULT_ADAMW, type AdamWConfig, type AdamWState } from './adamw';
import type { Batch, Dataset } from './data';
import { predictDigit, sampleText, type SampleOptions } from './demo';
import type { Workload } from './data-format';
import { FlatParams } from './flat-params';
import { createGpt, GPT_DEFAULT, type GptConfig } from './gpt';
import { createMlp, MLP_DEFAULT, type MlpConfig } from './mlp';
import { accuracy, crossEntropy, type Model } from './nn';

export interface StepResult {
  /** Training loss of this step's batch, nats per target (before the update). */
  loss: number;
  /** Global gradient L2 norm before clipping; a rising value warns of divergence. */
  gradNorm: number;
  /** AdamW's step count after this step (its bias correction's t): it goes on across a backend switch. */
  optimizerSteps: number;
}

export interface HeldOutMetrics {
  /** Mean cross-entropy on the fixed held-out batch: nats per character (text) or per example (digits). */
  loss: number;
  /** Text only: loss / ln 2. */
  bitsPerChar?: number;
  /** Digits only: fraction of held-out examples classified correctly. */
  accuracy?: number;
  /** Targets evaluated. */
  tokens: number;
}

export interface TrainModel {
  readonly workload: Workload;
  readonly config: GptConfig | MlpConfig;
  /** Tensors in layout order; feed to core's makeLayout / planFragments. */
  readonly specs: TensorSpec[];
  readonly layout: ParamLayout;
  /** Targets consumed per step: batch · context for text, batch for digits (c_tokens, docs/method.md §5). */
  readonly tokensPerStep: number;
  getParams(): Promise<Float32Array>;
  setParams(flat: Float32Array): void;
  /** Async readback of only that fragment's tensors. */
  readFragment(f: Fragment): Promise<Float32Array>;
  writeFragment(f: Fragment, values: Float32Array): void;
  /** One AdamW step on a fresh batch at learning rate lr. */
  step(lr: number): Promise<StepResult>;
  /** Held-out loss, nats per target (text: per character; digits: per example). */
  evaluate(): Promise<number>;
  /** Held-out loss plus bits per char (text) or accuracy (digits). */
  metrics(): Promise<HeldOutMetrics>;
  /** Text: the prompt continued by sampling from the model (demo.ts); rejects on a digits model. */
  sample(o: SampleOptions): Promise<string>;
  /** Digits: class probabilities of one 28×28 image (demo.ts); rejects on a text model. */
  predict(pixels: Float32Array): Promise<number[]>;
  /** Zeroes AdamW moments and its step count (a rejoining learner); never called on ordinary syncs. */
  resetOptimizer(): void;
  /** AdamW's moments and step count, read back; with setOptimizerState, a move to another backend keeps them. */
  optimizerState(): Promise<AdamWState>;
  setOptimizerState(s: AdamWState): void;
  dispose(): void;
}

export interface TrainOptions {
  /** Overrides of GPT_DEFAULT (text; vocab and context come from the dataset) or MLP_DEFAULT (digits). */
  config?: Partial<GptConfig> | Partial<MlpConfig>;
  /** Sequences (text) or images (digits) per step; default 16 (docs/method.md §3). */
  batch: number;
  /** This learner's data and dropout stream; give each tab its own. */
  seed: number;
  /** Seed of the initial weights; must be the same on every tab. */
  initSeed?: number;
  adamw?: Partial<AdamWConfig>;
}

/** Default weights seed: any fixed number works, as long as every tab and the coordinator use it. */
export const DEFAULT_INIT_SEED = 0x5eed;

export function createTrainModel(workload: Workload, dataset: Dataset, opts: TrainOptions): TrainModel {
  if (dataset.workload !== workload) throw new Error(`createTrainModel: ${workload} model for a ${dataset.workload} dataset`);
  if (!Number.isInteger(opts.batch) || opts.batch < 1) throw new Error(`createTrainModel: batch ${opts.batch}`);
  const initSeed = opts.initSeed ?? DEFAULT_INIT_SEED;
  let model: Model & { config: GptConfig | MlpConfig };
  let tokensPerStep: number;
  if (dataset.workload === 'text') {
    const over = (opts.config ?? {}) as Partial<GptConfig>;
    const cfg: GptConfig = { ...GPT_DEFAULT, context: dataset.context, ...over, vocab: dataset.vocabSize };
    if (over.vocab !== undefined && over.vocab !== dataset.vocabSize) throw new Error(`createTrainModel: config vocab ${over.vocab}, dataset has ${dataset.vocabSize}`);
    if (cfg.context !== dataset.context) throw new Error(`createTrainModel: config context ${cfg.context}, dataset windows are ${dataset.context}`);
    model = createGpt(cfg, initSeed);
    tokensPerStep = opts.batch * cfg.context;
  } else {
    const cfg: MlpConfig = { ...MLP_DEFAULT, ...(opts.config as Partial<MlpConfig> | undefined) };
    if (cfg.inputs !== dataset.features || cfg.classes !== dataset.classes) {
      throw new Error(`createTrainModel: MLP ${cfg.inputs}→${cfg.classes}, dataset has ${dataset.features} features and ${dataset.classes} classes`);
    }
    model = createMlp(cfg, initSeed);
    tokensPerStep = opts.batch;
  }
  const specs = model.defs.map((d) => d.spec);
  const params = [...model.params];
  const flat = new FlatParams(specs, params);
  const opt = new AdamW(params, model.decay, { ...DEFAULT_ADAMW, ...opts.adamw });
  const rng = makeRng(opts.seed);
  const held: Batch = dataset.heldOut(); // kept on the device for the model's life: evaluation uploads nothing

  async function step(lr: number): Promise<StepResult> {
    const out = tf.tidy(() => {
      const batch = dataset.sampleBatch(rng, opts.batch);
      const dropoutSeed = rng.int(0x7fffffff);
      const { value, grads } = tf.variableGrads(() => crossEntropy(model.logits(batch.x, dropoutSeed), batch.y), params);
      const ordered = params.map((v) => {
        const g = grads[v.name];
        if (g === undefined) throw new Error(`step: no gradient for a parameter (${v.name}); is every tensor used?`);
        return g;
      });
      return tf.stack([value, opt.apply(ordered, lr)]);
    });
    try {
      const [loss = NaN, gradNorm = NaN] = await out.data(); // the step's one GPU→CPU sync point
      return { loss, gradNorm, optimizerSteps: opt.steps };
    } finally {
      out.dispose();
    }
  }

  async function metrics(): Promise<HeldOutMetrics> {
    const out = tf.tidy(() => {
      const logits = model.logits(held.x);
      const loss = crossEntropy(logits, held.y);
      return workload === 'digits' ? tf.stack([loss, accuracy(logits, held.y)]) : tf.reshape(loss, [1]);
    });
    try {
      const [loss = NaN, acc] = await out.data();
      const m: HeldOutMetrics = { loss, tokens: held.tokens };
      if (workload === 'text') m.bitsPerChar = loss / Math.LN2;
      else m.accuracy = acc;
      return m;
    } finally {
      out.dispose();
    }
  }

  return {
    workload,
    config: model.config,
    specs,
    layout: flat.layout,
    tokensPerStep,
    getParams: () => flat.get(),
    setParams: (values) => flat.set(values),
    readFragment: (f) => flat.read(f),
    writeFragment: (f, values) => flat.write(f, values),
    step,
    evaluate: async () => (await metrics()).loss,
    metrics,
    sample: async (o) => {
      if (dataset.workload !== 'text') throw new Error('sample: a digits model writes no text (use predict)');
      return sampleText(model, model.config as GptConfig, dataset, o, () => performance.now());
    },
    predict: async (pixels) => {
      if (dataset.workload !== 'digits') throw new Error('predict: a text model classifies no digits (use sample)');
      return predictDigit(model, pixels);
    },
    resetOptimizer: () => opt.reset(),
    optimizerState: () => opt.state(),
    setOptimizerState: (s) => opt.setState(s),
    dispose: () => {
      opt.dispose();
      model.dispose();
      held.x.dispose();
      held.y.dispose();
    },
  };
}
