import { describe, expect, it } from 'vitest';
import type { ProbeResult } from './api';
import { chooseBackend, parseBackend } from './choose';
import { TrainerError } from './errors';

const ok = (backend: ProbeResult['backend'], msPerStep: number, extra: Partial<ProbeResult> = {}): ProbeResult => ({ backend, ok: true, selfTestError: 1e-7, msPerStep, initMs: 10, ...extra });
const bad = (backend: ProbeResult['backend'], reason: string): ProbeResult => ({ backend, ok: false, reason, selfTestError: Infinity, msPerStep: Infinity, initMs: 0 });
const swiftshader = { vendor: 'google', architecture: 'swiftshader', device: '', description: '', isFallbackAdapter: true };

describe('chooseBackend', () => {
  it('picks the fastest passing backend and explains it against the others', () => {
    const c = chooseBackend([ok('webgpu', 2100, { adapter: swiftshader }), ok('wasm', 48), bad('webgl', 'init: no OffscreenCanvas'), ok('cpu', 251)]);
    expect(c).toEqual({ ok: true, chosen: 'wasm', why: 'wasm: 48 ms/step vs webgpu 2100 ms/step (swiftshader fallback adapter), webgl failed: init: no OffscreenCanvas, cpu 251 ms/step' });
  });

  it('ignores fast results that failed or have no timing, and breaks ties by candidate order', () => {
    expect(chooseBackend([bad('webgpu', 'self-test error 5e-1 exceeds 1e-3'), ok('wasm', 50)])).toMatchObject({ ok: true, chosen: 'wasm' });
    expect(chooseBackend([{ ...ok('webgpu', 1), msPerStep: NaN }, ok('cpu', 300)])).toMatchObject({ ok: true, chosen: 'cpu' });
    expect(chooseBackend([ok('webgl', 40), ok('wasm', 40)])).toMatchObject({ chosen: 'webgl' });
    expect(chooseBackend([ok('cpu', 3.25)])).toEqual({ ok: true, chosen: 'cpu', why: 'cpu: 3.3 ms/step (only candidate)' });
  });

  it('prefers a real GPU when it is faster', () => {
    const gpu = { vendor: 'nvidia', architecture: 'ampere', device: '', description: '', isFallbackAdapter: false };
    expect(chooseBackend([ok('webgpu', 5, { adapter: gpu }), ok('wasm', 48)])).toEqual({ ok: true, chosen: 'webgpu', why: 'webgpu: 5.0 ms/step (ampere) vs wasm 48 ms/step' });
  });

  it('honours a forced backend even when slower, and fails clearly when it did not pass', () => {
    const results = [ok('webgpu', 2100, { adapter: swiftshader }), ok('wasm', 48)];
    expect(chooseBackend(results, 'webgpu')).toEqual({ ok: true, chosen: 'webgpu', why: 'webgpu (forced): 2100 ms/step (swiftshader fallback adapter)' });
    expect(chooseBackend([bad('webgpu', 'init: requestAdapter() returned null')], 'webgpu')).toEqual({ ok: false, why: 'forced backend webgpu failed: init: requestAdapter() returned null' });
    expect(chooseBackend(results, 'cpu')).toEqual({ ok: false, why: 'forced backend cpu was not probed' });
  });

  it('explains every failure when nothing passed', () => {
    const c = chooseBackend([bad('webgpu', 'init: no adapter'), bad('wasm', 'init: init wasm timed out after 15000 ms')]);
    expect(c).toEqual({ ok: false, why: 'no backend passed: webgpu failed: init: no adapter; wasm failed: init: init wasm timed out after 15000 ms' });
    expect(chooseBackend([])).toEqual({ ok: false, why: 'no backend candidates to probe' });
  });
});

describe('parseBackend', () => {
  it('accepts the four names and treats empty/auto as no preference', () => {
    for (const n of ['webgpu', 'wasm', 'webgl', 'cpu'] as const) expect(parseBackend(n)).toBe(n);
    for (const n of [undefined, null, '', 'auto']) expect(parseBackend(n)).toBeUndefined();
  });

  it('rejects anything else with a bad-argument TrainerError naming the choices', () => {
    expect(() => parseBackend('tensorflow')).toThrow(TrainerError);
    expect(() => parseBackend('WASM')).toThrow(/bad-argument: unknown backend "WASM" \(want one of webgpu, wasm, webgl, cpu, or auto\)/);
  });
});
