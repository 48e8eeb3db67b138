import { describe, expect, it } from 'vitest';
import type { ProbeOptions, ProbeReport, ProbeResult, Trainer } from '@tabswarm/worker';
import { choiceKey, parseBackendList, pickBackend, recall, remember, worthSwitching, type ChoiceStore } from './backend-choice';

const timed = (backend: ProbeResult['backend'], msPerStep: number, ok = true): ProbeResult => ({ backend, ok, msPerStep, selfTestError: 1e-7, initMs: 1 });

function memoryStore(): ChoiceStore & { data: Map<string, string> } {
  const data = new Map<string, string>();
  return { data, getItem: (k) => data.get(k) ?? null, setItem: (k, v) => void data.set(k, v), removeItem: (k) => void data.delete(k) };
}

/** A trainer whose probe answers from `passes` (backends that pass) and records what it was asked. */
function fakeTrainer(passes: string[]): Trainer & { asked: ProbeOptions[] } {
  const asked: ProbeOptions[] = [];
  const probe = async (o: ProbeOptions = {}): Promise<ProbeReport> => {
    asked.push(o);
    const list = o.force ? [o.force] : (o.candidates ?? ['webgpu', 'wasm', 'webgl', 'cpu']);
    const chosen = list.find((b) => passes.includes(b));
    if (!chosen) throw new Error(`no-backend: none of ${list.join(', ')}`);
    return { chosen: chosen as ProbeResult['backend'], why: `${chosen}: first to pass the self-test`, results: [] };
  };
  return { asked, probe } as unknown as Trainer & { asked: ProbeOptions[] };
}

describe('worthSwitching', () => {
  it('moves only to a backend clearly faster than the one in use, and only between two timed results', () => {
    expect(worthSwitching([timed('wasm', 50), timed('webgpu', 30)], 'webgpu', 'wasm')).toBe(true); // 0.6 < 0.8
    expect(worthSwitching([timed('wasm', 50), timed('webgl', 45)], 'webgl', 'wasm')).toBe(false); // 0.9: noise
    expect(worthSwitching([timed('wasm', 50)], 'wasm', 'wasm')).toBe(false);
    expect(worthSwitching([timed('wasm', Infinity, false), timed('cpu', 300)], 'cpu', 'wasm')).toBe(false); // wasm missed its deadline: it still trains
    expect(worthSwitching([timed('wasm', 50), timed('webgpu', 5, false)], 'webgpu', 'wasm')).toBe(false);
  });
});

describe('the remembered choice', () => {
  it('round-trips per workload and preset, and reads garbage or a throwing store as nothing', () => {
    const store = memoryStore(), key = choiceKey('text', 'tiny');
    expect(key).toBe('tabswarm.backend.text.tiny');
    remember(store, key, { backend: 'wasm', why: 'calibrated: wasm 3 ms/step' });
    expect(recall(store, key)).toEqual({ backend: 'wasm', why: 'calibrated: wasm 3 ms/step' });
    expect(recall(store, choiceKey('text', 'large'))).toBeUndefined();
    store.data.set(key, '{not json');
    expect(recall(store, key)).toBeUndefined();
    const broken: ChoiceStore = { getItem: () => { throw new Error('denied'); }, setItem: () => { throw new Error('denied'); }, removeItem: () => undefined };
    expect(recall(broken, key)).toBeUndefined();
    expect(() => remember(broken, key, { backend: 'cpu', why: '' })).not.toThrow();
  });
});

describe('pickBackend', () => {
  const key = choiceKey('text', 'tiny');

  it('first start: the first that passes; second start: the remembered one, self-tested alone', async () => {
    const store = memoryStore(), t = fakeTrainer(['wasm', 'cpu']);
    expect(await pickBackend(t, { force: undefined, workload: 'text', store, key })).toMatchObject({ source: 'first', report: { chosen: 'wasm' } });
    expect(t.asked[0]).toEqual({ mode: 'first', workload: 'text' });
    remember(store, key, { backend: 'cpu', why: 'calibrated: cpu 2 ms/step' });
    const again = await pickBackend(t, { force: undefined, workload: 'text', store, key });
    expect(again).toMatchObject({ source: 'remembered', report: { chosen: 'cpu', why: 'cpu: remembered on this browser (calibrated: cpu 2 ms/step)' } });
    expect(t.asked[1]).toEqual({ mode: 'first', candidates: ['cpu'], workload: 'text' });
  });

  it('a remembered backend that is gone is forgotten and the probe order applies; a forced one is all that is tried', async () => {
    const store = memoryStore(), t = fakeTrainer(['wasm']);
    remember(store, key, { backend: 'webgpu', why: 'calibrated' });
    expect(await pickBackend(t, { force: undefined, workload: 'text', store, key })).toMatchObject({ source: 'first', report: { chosen: 'wasm' } });
    expect(recall(store, key)).toBeUndefined();
    await expect(pickBackend(t, { force: 'webgl', workload: 'text', store, key })).rejects.toThrow(/none of webgl/);
    expect(t.asked.at(-1)).toEqual({ force: 'webgl', workload: 'text' });
  });

  it('?backends= orders the first start and bounds the remembered choice, which it neither uses nor forgets outside the list', async () => {
    const store = memoryStore(), t = fakeTrainer(['webgpu', 'wasm', 'cpu']);
    expect(await pickBackend(t, { force: undefined, candidates: ['cpu', 'wasm'], workload: 'text', store, key })).toMatchObject({ source: 'first', report: { chosen: 'cpu' } });
    expect(t.asked.at(-1)).toEqual({ mode: 'first', candidates: ['cpu', 'wasm'], workload: 'text' });
    remember(store, key, { backend: 'webgpu', why: 'calibrated: webgpu 1 ms/step' });
    expect(await pickBackend(t, { force: undefined, candidates: ['cpu', 'wasm'], workload: 'text', store, key })).toMatchObject({ source: 'first', report: { chosen: 'cpu' } });
    expect(recall(store, key)?.backend).toBe('webgpu'); // still this browser's choice for a tab without the list
    remember(store, key, { backend: 'wasm', why: 'calibrated: wasm 3 ms/step' });
    expect(await pickBackend(t, { force: undefined, candidates: ['cpu', 'wasm'], workload: 'text', store, key })).toMatchObject({ source: 'remembered', report: { chosen: 'wasm' } });
    expect(t.asked.at(-1)).toEqual({ mode: 'first', candidates: ['wasm'], workload: 'text' });
  });
});

describe('parseBackendList (?backends=)', () => {
  it('reads an ordered list of known backends and refuses anything else with the reason', () => {
    expect(parseBackendList(null, undefined)).toBeUndefined();
    expect(parseBackendList('cpu,wasm', undefined)).toEqual(['cpu', 'wasm']);
    expect(parseBackendList(' wasm , webgl ', undefined)).toEqual(['wasm', 'webgl']);
    expect(() => parseBackendList('wasm,tpu', undefined)).toThrow(/^backends="wasm,tpu": unknown backend "tpu" \(want a comma-separated list of webgpu, wasm, webgl, cpu\)$/);
    expect(() => parseBackendList('', undefined)).toThrow(/an empty name/);
    expect(() => parseBackendList('wasm,,cpu', undefined)).toThrow(/an empty name/);
    expect(() => parseBackendList('cpu,cpu', undefined)).toThrow(/a backend named twice/);
    expect(() => parseBackendList('cpu', 'wasm')).toThrow(/beside backend="wasm": give one/);
  });
});
