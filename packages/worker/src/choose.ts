/**
 * Picking a backend from probe results. Pure, so the policy is unit-tested without a browser.
 *
 * Policy: the fastest candidate that initialised, passed the numerical self-test and was calibrated.
 * Speed is what matters for a volunteer (tokens/s); on this project's CI box WebGPU exists but is a
 * SwiftShader software adapter ~8× slower than WASM SIMD, so "GPU first" would be wrong.
 * Ties go to the earlier candidate (the caller's preference order).
 */
import type { AdapterInfo, BackendName, ProbeResult } from './api';
import { TrainerError } from './errors';

export const BACKEND_NAMES: readonly BackendName[] = ['webgpu', 'wasm', 'webgl', 'cpu'];

/** Validates a user-supplied backend name (URL parameter); undefined/'' mean "no preference". */
export function parseBackend(name: string | undefined | null): BackendName | undefined {
  if (name === undefined || name === null || name === '' || name === 'auto') return undefined;
  if ((BACKEND_NAMES as readonly string[]).includes(name)) return name as BackendName;
  throw new TrainerError('bad-argument', `unknown backend ${JSON.stringify(name)} (want one of ${BACKEND_NAMES.join(', ')}, or auto)`);
}

export type Choice = { ok: true; chosen: BackendName; why: string } | { ok: false; why: string };

const usable = (r: ProbeResult): boolean => r.ok && Number.isFinite(r.msPerStep) && r.msPerStep >= 0;

function adapterNote(a: AdapterInfo | undefined): string {
  if (!a) return '';
  const name = a.architecture || a.vendor || a.description || 'unknown';
  return a.isFallbackAdapter ? ` (${name} fallback adapter)` : ` (${name})`;
}

/** "webgpu 2100 ms/step (swiftshader fallback adapter)" or "webgl failed: no WebGL2 context". */
export function describeResult(r: ProbeResult): string {
  if (!usable(r)) return `${r.backend} failed: ${r.reason ?? 'no timing'}`;
  return `${r.backend} ${formatMs(r.msPerStep)} ms/step${adapterNote(r.adapter)}`;
}

function formatMs(ms: number): string {
  return ms >= 10 ? ms.toFixed(0) : ms.toFixed(1);
}

/**
 * The fastest usable result, or the forced one. Never throws; `ok: false` carries a human reason
 * naming every candidate's failure.
 */
export function chooseBackend(results: readonly ProbeResult[], force?: BackendName): Choice {
  if (force !== undefined) {
    const r = results.find((x) => x.backend === force);
    if (!r) return { ok: false, why: `forced backend ${force} was not probed` };
    // A forced backend is not timed (probe.ts): passing init and the self-test is enough.
    if (!r.ok) return { ok: false, why: `forced backend ${describeResult(r)}` };
    const timing = Number.isFinite(r.msPerStep) ? `${formatMs(r.msPerStep)} ms/step` : 'self-test passed, not timed';
    return { ok: true, chosen: force, why: `${force} (forced): ${timing}${adapterNote(r.adapter)}` };
  }
  if (results.length === 0) return { ok: false, why: 'no backend candidates to probe' };
  let best: ProbeResult | undefined;
  for (const r of results) if (usable(r) && (best === undefined || r.msPerStep < best.msPerStep)) best = r;
  if (!best) return { ok: false, why: `no backend passed: ${results.map(describeResult).join('; ')}` };
  const chosen = best;
  const others = results.filter((r) => r !== chosen);
  const rest = others.length === 0 ? ' (only candidate)' : ` vs ${others.map(describeResult).join(', ')}`;
  return { ok: true, chosen: chosen.backend, why: `${chosen.backend}: ${formatMs(chosen.msPerStep)} ms/step${adapterNote(chosen.adapter)}${rest}` };
}

/**
 * Mode 'first' (probe.ts): the first result that passed, with the reasons of those before it, e.g.
 * "wasm: first to pass the self-test (webgpu failed: init: requestAdapter() returned null …)".
 */
export function chooseFirst(results: readonly ProbeResult[]): Choice {
  const i = results.findIndex((r) => r.ok);
  if (i < 0) return { ok: false, why: results.length === 0 ? 'no backend candidates to probe' : `no backend passed: ${results.map(describeResult).join('; ')}` };
  const r = results[i]!, before = results.slice(0, i).map(describeResult).join('; ');
  return { ok: true, chosen: r.backend, why: `${r.backend}: first to pass the self-test${adapterNote(r.adapter)}${before ? ` (${before})` : ''}` };
}
