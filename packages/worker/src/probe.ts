/**
 * Probing: for each candidate backend, initialise it (deadline), check its numbers against the plain-JS
 * reference (selftest.ts), time a few training steps (calibrate.ts), then pick the fastest that passed
 * (choose.ts). Runs inside the worker; each stage has its own deadline and the whole probe a budget, so
 * one hung backend costs at most its deadline and never the probe.
 *
 * Mode 'first' stops at the first candidate (in preference order: a real GPU, then WASM, WebGL, CPU)
 * that initialises and passes the self-test, untimed: a tab starts training in about a second and
 * measures the others later, in another worker (docs/browser.md §1). Fallback WebGPU adapters are
 * refused in both modes unless WebGPU is forced.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendName, ProbeOptions, ProbeReport, ProbeResult } from './api';
import { DEFAULT_INIT_TIMEOUT_MS, initBackend, type BackendInit } from './backends';
import { calibrateModel, calibrateSynthetic, SYNTHETIC_SHAPES } from './calibrate';
import { BACKEND_NAMES, chooseBackend, chooseFirst, parseBackend } from './choose';
import { withDeadline } from './deadline';
import { describeError, TrainerError } from './errors';
import type { TrainModel } from './model-api';
import { runSelfTest, type SelfTestOutcome } from './selftest';

/** Self-test deadline, ms: a handful of tiny kernels, but first-use shader compilation on SwiftShader takes seconds. */
const SELF_TEST_TIMEOUT_MS = 10_000;
/** Calibration deadline, ms: 4 synthetic steps at ~0.4 s each on SwiftShader WebGPU, with 5× headroom. */
const CALIBRATION_TIMEOUT_MS = 15_000;
/** Whole-probe budget, ms: below the client's 60 s probe deadline, leaving room for the reply. */
const DEFAULT_BUDGET_MS = 45_000;

export interface ProbeDeps {
  /** Builds the real model on the active backend for calibration (when ProbeOptions.model is set). */
  makeModel?: () => Promise<TrainModel>;
  /** Initialises a backend; injectable for tests. */
  init?: (name: BackendName, timeoutMs: number, opts: { allowFallback: boolean }) => Promise<BackendInit>;
  /** Checks the active backend's numbers; injectable for tests (default: runSelfTest against the reference). */
  selfTest?: () => Promise<SelfTestOutcome>;
  now?: () => number;
}

/** What the probe leaves behind for init(): the ready backends' details (adapter, device). */
export interface ProbeOutcome {
  report: ProbeReport;
  inits: Map<BackendName, BackendInit>;
}

async function probeOne(name: BackendName, opts: ProbeOptions, deps: ProbeDeps, remainingMs: number): Promise<{ result: ProbeResult; init?: BackendInit }> {
  const { now = () => performance.now(), init = initBackend, selfTest = () => runSelfTest(tf) } = deps;
  const base: ProbeResult = { backend: name, ok: false, selfTestError: Infinity, msPerStep: Infinity, initMs: 0 };
  const cap = (ms: number): number => Math.max(1, Math.min(ms, remainingMs));
  const forced = parseBackend(opts.force) === name;
  const ready = await init(name, cap(opts.initTimeoutMs ?? DEFAULT_INIT_TIMEOUT_MS), { allowFallback: forced });
  const result: ProbeResult = { ...base, initMs: ready.initMs, ...(ready.adapter ? { adapter: ready.adapter } : {}), ...(ready.ok && ready.detail ? { detail: ready.detail } : {}) };
  if (!ready.ok) return { result: { ...result, reason: `init: ${ready.reason}` } };
  remainingMs -= ready.initMs;
  try {
    const t0 = now();
    const st = await withDeadline(selfTest(), cap(SELF_TEST_TIMEOUT_MS), `${name} self-test`);
    remainingMs -= now() - t0;
    result.selfTestError = st.error;
    if (!st.ok) return { result: { ...result, reason: `self-test error ${st.error.toExponential(2)} exceeds 1e-3` }, init: ready };
  } catch (e) {
    return { result: { ...result, reason: `self-test: ${describeError(e)}` }, init: ready };
  }
  // A forced backend has nothing to be compared with: timing it only risks a deadline on a slow adapter
  // (SwiftShader's WebGPU under load takes > 15 s for three steps) after it already proved correct.
  if (forced) return { result: { ...result, ok: true, detail: 'forced: self-test passed, not timed' }, init: ready };
  if (opts.mode === 'first') return { result: { ...result, ok: true, detail: 'first to pass the self-test, not timed' }, init: ready };
  const steps = opts.calibrationSteps ?? 3;
  let model: TrainModel | undefined;
  // Set once the calibration is over (timed, failed or past its deadline): the timing cut loose by the
  // deadline keeps running, and must neither step on nor leave behind what the probe has moved past.
  let over = false;
  const stop = (): boolean => over;
  try {
    const timing = async (): Promise<number> => {
      if (!deps.makeModel) return calibrateSynthetic(tf, SYNTHETIC_SHAPES[opts.workload ?? 'digits'], { steps, now, stop });
      const built = await deps.makeModel();
      if (over) {
        built.dispose();
        throw new Error('model built after the calibration deadline');
      }
      model = built;
      return calibrateModel(model, { steps, now, stop });
    };
    result.msPerStep = await withDeadline(timing(), cap(CALIBRATION_TIMEOUT_MS), `${name} calibration`);
    result.ok = true;
    return { result, init: ready };
  } catch (e) {
    return { result: { ...result, reason: `calibration: ${describeError(e)}` }, init: ready };
  } finally {
    over = true;
    try {
      (model as TrainModel | undefined)?.dispose();
    } catch {
      // a model that cannot dispose on a failed backend is garbage either way
    }
  }
}

/**
 * Probes the candidates (or only the forced one) and chooses. Throws TrainerError 'bad-argument' for an
 * unknown forced name and 'no-backend' when nothing passed; otherwise returns the report. The active
 * TF.js backend afterwards is unspecified: init() sets the chosen one.
 */
export async function probeBackends(opts: ProbeOptions = {}, deps: ProbeDeps = {}): Promise<ProbeOutcome> {
  const { now = () => performance.now() } = deps;
  const force = parseBackend(opts.force);
  const candidates = force ? [force] : (opts.candidates ?? [...BACKEND_NAMES]);
  for (const c of candidates) parseBackend(c);
  const budget = opts.budgetMs ?? DEFAULT_BUDGET_MS;
  const t0 = now();
  const results: ProbeResult[] = [];
  const inits = new Map<BackendName, BackendInit>();
  for (const name of candidates) {
    const remaining = budget - (now() - t0);
    if (remaining <= 0) {
      results.push({ backend: name, ok: false, reason: `skipped: probe budget of ${budget} ms spent`, selfTestError: Infinity, msPerStep: Infinity, initMs: 0 });
      continue;
    }
    const { result, init } = await probeOne(name, opts, deps, remaining);
    results.push(result);
    if (init?.ok) inits.set(name, init);
    if (opts.mode === 'first' && result.ok) break;
  }
  const choice = opts.mode === 'first' && !force ? chooseFirst(results) : chooseBackend(results, force);
  if (!choice.ok) throw new TrainerError('no-backend', choice.why);
  return { report: { chosen: choice.chosen, why: choice.why, results }, inits };
}
