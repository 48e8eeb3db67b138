import { ConfigError } from '@tabswarm/core';
import type { BackendName, ModelConfig, ProbeReport, ProbeResult, Trainer, Workload } from '@tabswarm/worker';
import { BACKEND_NAMES, startTrainer } from '@tabswarm/worker';

/**
 * Which backend a learner tab trains on, and where that choice came from (docs/browser.md §1):
 * - `forced`: the `?backend=` URL parameter; nothing else is tried or measured.
 * - `remembered`: what an earlier start on this origin measured (localStorage), re-checked by the
 *   self-test only, so the second start trains as soon as the worker is up.
 * - `first`: the first candidate that passes the self-test (a real GPU, then WASM, WebGL, CPU), untimed;
 *   the tab joins at once and `calibrate` times all candidates later, in a worker of its own.
 * - `calibrated`: that calibration found a faster backend, and the tab moved its model there.
 * The `?backends=` URL parameter narrows and orders the candidates of all but `forced` (parseBackendList).
 */
export type BackendSource = 'forced' | 'remembered' | 'first' | 'calibrated';

/** A calibrated backend must be this much faster (ratio of ms/step) to be worth a switch: timings on a
 * busy machine vary by ±10–20% between runs, and a switch costs a model rebuild (≈ 1 s). */
export const SWITCH_MARGIN = 0.8;

export interface Remembered {
  backend: BackendName;
  why: string;
}

/** Storage the choice lives in; localStorage in a page. Any call may throw (storage disabled). */
export interface ChoiceStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** One remembered choice per workload and preset: a tiny model may run fastest on WASM and a large one on the GPU. */
export const choiceKey = (workload: Workload, model: string): string => `tabswarm.backend.${workload}.${model}`;

export function recall(store: ChoiceStore | undefined, key: string): Remembered | undefined {
  try {
    const v = JSON.parse(store?.getItem(key) ?? 'null') as Partial<Remembered> | null;
    return v && typeof v.backend === 'string' && typeof v.why === 'string' ? { backend: v.backend, why: v.why } : undefined;
  } catch {
    return undefined; // unreadable or disabled: measure again
  }
}

export function remember(store: ChoiceStore | undefined, key: string, r: Remembered | undefined): void {
  try {
    if (r) store?.setItem(key, JSON.stringify(r));
    else store?.removeItem(key);
  } catch {
    // storage refused: the next start measures again, which is only slower
  }
}

/**
 * `?backends=wasm,cpu`: the backends this tab may use, in the order its first start tries them; the
 * calibration times only these, and a remembered choice outside them is not used (nor forgotten). For a
 * volunteer who keeps the GPU for their own work, or whose WebGL driver misbehaves. Absent: every
 * backend, in the order webgpu, wasm, webgl, cpu. Refused (ConfigError): an unknown or repeated name, an
 * empty list, or `backend=` beside it (which forces one and measures nothing).
 */
export function parseBackendList(v: string | null, force: string | undefined): BackendName[] | undefined {
  if (v === null) return undefined;
  if (force !== undefined) throw new ConfigError(`backends=${JSON.stringify(v)} beside backend=${JSON.stringify(force)}: give one (backend= forces a backend, backends= lists those to try)`);
  const names = v.split(',').map((n) => n.trim());
  const bad = names.find((n) => !(BACKEND_NAMES as readonly string[]).includes(n));
  if (bad !== undefined) throw new ConfigError(`backends=${JSON.stringify(v)}: ${bad === '' ? 'an empty name' : `unknown backend ${JSON.stringify(bad)}`} (want a comma-separated list of ${BACKEND_NAMES.join(', ')})`);
  if (new Set(names).size !== names.length) throw new ConfigError(`backends=${JSON.stringify(v)}: a backend named twice`);
  return names as BackendName[];
}

/** Probes for a tab's first worker (forced, else remembered, else the first that passes), or a rebuilt one (`prefer`: the backend it was on). */
export async function pickBackend(trainer: Trainer, o: { force: string | undefined; candidates?: BackendName[] | undefined; workload: Workload; store: ChoiceStore | undefined; key: string; prefer?: string }): Promise<{ report: ProbeReport; source: BackendSource }> {
  if (o.force !== undefined) return { report: await trainer.probe({ force: o.force, workload: o.workload }), source: 'forced' };
  const recalled = recall(o.store, o.key);
  const saved = recalled && (o.candidates?.includes(recalled.backend) ?? true) ? recalled : undefined; // outside ?backends=: not ours to use
  const prefer = o.prefer ?? saved?.backend;
  if (prefer !== undefined) {
    const known = saved !== undefined && saved.backend === prefer;
    // Not forced: a remembered WebGPU still has to be a real adapter (the fallback rule holds).
    const got = await trainer.probe({ mode: 'first', candidates: [prefer as BackendName], workload: o.workload }).catch(() => undefined);
    if (got) return known ? { report: { ...got, why: `${prefer}: remembered on this browser (${saved.why})` }, source: 'remembered' } : { report: got, source: 'first' };
    if (known) remember(o.store, o.key, undefined); // gone (e.g. no GPU now): forget it
  }
  return { report: await trainer.probe({ mode: 'first', ...(o.candidates ? { candidates: o.candidates } : {}), workload: o.workload }), source: 'first' };
}

/**
 * Times every candidate in a worker of its own while the tab trains, with real steps of the tab's own
 * model (calibrate.ts): the synthetic MLP step ranked SwiftShader's WebGL above WASM on this machine under
 * load, where a step of the tiny GPT on it takes several times longer (many small kernels, slow readback).
 * Says whether to move: to the fastest backend, when it beats the one in use by SWITCH_MARGIN. Every
 * call has the worker client's deadlines; the worker is gone afterwards, whatever happened.
 */
export async function calibrate(o: { workload: Workload; model: ModelConfig; batch: number; dataBaseUrl: string; candidates?: BackendName[] | undefined }, current: BackendName): Promise<{ report: ProbeReport; switchTo: BackendName | undefined }> {
  const t = await startTrainer();
  try {
    const report = await t.probe({ workload: o.workload, ...(o.candidates ? { candidates: o.candidates } : {}), model: { dataBaseUrl: o.dataBaseUrl, config: o.model, batch: o.batch } });
    return { report, switchTo: worthSwitching(report.results, report.chosen, current) ? report.chosen : undefined };
  } finally {
    t.terminate();
  }
}

/** Only between two timed results: a backend in use that missed its timing deadline still trains, and a
 * deadline missed under load says less than the steps the tab has been taking on it. */
export function worthSwitching(results: readonly ProbeResult[], best: BackendName, current: BackendName): boolean {
  if (best === current) return false;
  const b = results.find((r) => r.backend === best), c = results.find((r) => r.backend === current);
  if (!b?.ok || !c?.ok || !Number.isFinite(c.msPerStep)) return false;
  return b.msPerStep < SWITCH_MARGIN * c.msPerStep;
}
