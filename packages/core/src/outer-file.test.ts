import { describe, expect, it } from 'vitest';
import { getCodec } from './codecs';
import { planFragments, scatter, type Fragment } from './fragments';
import { makeLayout } from './layout';
import type { OuterState } from './outer';
import { CYCLE_SUM_PREFIX, MOMENTUM_PREFIX, outerFromFile, outerTensors } from './outer-file';
import { makeRng } from './rng';
import { decodeSafetensors, encodeSafetensors, layoutTensors, META, thetaFromFile, type SafetensorsFile } from './safetensors';
import { makeSyncConfig } from './syncer/config';
import { Syncer } from './syncer/syncer';

// Rows of 3 and 4: P = 3 splits `tok` by rows (fragment-balanced.ts), so a fragment is not a tensor.
const layout = makeLayout([
  { name: 'tok', shape: [6, 3], kind: 'dense' },
  { name: 'b0.w', shape: [3, 4], kind: 'dense', layer: 0 },
  { name: 'b0.b', shape: [4], kind: 'dense', layer: 0 },
]);
const bits = (a: Float32Array | null): number[] | null => a && Array.from(new Uint32Array(Float32Array.from(a).buffer));

function randomOuter(fragments: readonly Fragment[], seed: number): OuterState[] {
  const rng = makeRng(seed);
  const v = (n: number): Float32Array => Float32Array.from({ length: n }, () => rng.normal() * 10 ** (rng.int(30) - 15));
  // One fragment in an open Delayed Nesterov cycle of 2 merges, the others without one (acc null or zeros).
  return fragments.map((f, p) => (p === 1 ? { buf: v(f.size), acc: v(f.size), count: 2 } : { buf: v(f.size), acc: p === 0 ? null : new Float32Array(f.size), count: 0 }));
}

function fileOf(theta: Float32Array, fragments: readonly Fragment[], outer: readonly OuterState[]): SafetensorsFile {
  const o = outerTensors(layout, fragments, outer);
  const r = decodeSafetensors(encodeSafetensors([...layoutTensors(layout, theta), ...o.tensors], { [META.layoutHash]: layout.hash, ...o.metadata }));
  if (!r.ok) throw new Error(r.detail);
  return r.value;
}

const flat = (fragments: readonly Fragment[], parts: Array<Float32Array | null>): Float32Array => {
  const out = new Float32Array(layout.totalSize);
  fragments.forEach((f, p) => { const v = parts[p]; if (v) scatter(out, f, v); });
  return out;
};

describe('the outer optimizer state in a model file', () => {
  const fragments = planFragments(layout, 3);

  it('round trips bit for bit: momentum, the open cycle and its merge count; parameters untouched', () => {
    expect(fragments.some((f) => f.segments.some((s) => s.rows < (layout.tensors.find((t) => t.name === s.name)?.shape[0] ?? 0)))).toBe(true); // a split tensor
    const theta = Float32Array.from({ length: layout.totalSize }, (_, i) => i - 7.25);
    const outer = randomOuter(fragments, 3);
    const file = fileOf(theta, fragments, outer);
    expect(file.metadata[META.outerMomentum]).toBe(MOMENTUM_PREFIX);
    expect(file.metadata[META.outerCycleSum]).toBe(CYCLE_SUM_PREFIX);
    expect(file.metadata[META.outerCycleMerges]).toBe('[0,2,0]');
    expect(file.tensors.map((t) => t.name)).toEqual([
      'tok', 'b0.w', 'b0.b', `${MOMENTUM_PREFIX}tok`, `${MOMENTUM_PREFIX}b0.w`, `${MOMENTUM_PREFIX}b0.b`, `${CYCLE_SUM_PREFIX}tok`, `${CYCLE_SUM_PREFIX}b0.w`, `${CYCLE_SUM_PREFIX}b0.b`,
    ]);
    const back = outerFromFile(layout, fragments, file);
    if (!back.ok || !back.value) throw new Error(back.ok ? 'no outer state' : back.detail);
    expect(back.value.map((o) => [bits(o.buf), bits(o.acc), o.count])).toEqual(outer.map((o) => [bits(o.buf), o.count > 0 ? bits(o.acc) : null, o.count]));
    const t = thetaFromFile(layout, file); // the outer tensors are not parameters, nor extra ones
    expect(t.ok && bits(t.value)).toEqual(bits(theta));
  });

  it('writes no cycle sums while no cycle is open, and reads them back as none', () => {
    const outer = randomOuter(fragments, 4).map((o) => ({ ...o, acc: null, count: 0 }));
    const file = fileOf(new Float32Array(layout.totalSize), fragments, outer);
    expect(file.tensors.filter((t) => t.name.startsWith(CYCLE_SUM_PREFIX))).toEqual([]);
    expect(file.metadata[META.outerCycleSum]).toBeUndefined();
    const back = outerFromFile(layout, fragments, file);
    expect(back.ok && back.value?.map((o) => [bits(o.buf), o.acc, o.count])).toEqual(outer.map((o) => [bits(o.buf), null, 0]));
  });

  it('a file without outer tensors (an older one, or another tool\'s) has none: zero momentum', () => {
    const r = decodeSafetensors(encodeSafetensors(layoutTensors(layout, new Float32Array(layout.totalSize)), {}));
    if (!r.ok) throw new Error(r.detail);
    expect(outerFromFile(layout, fragments, r.value)).toEqual({ ok: true, value: null });
  });

  it('read at another P: the momentum element by element, the open cycle dropped', () => {
    const outer = randomOuter(fragments, 5);
    const file = fileOf(new Float32Array(layout.totalSize), fragments, outer);
    const two = planFragments(layout, 2);
    const back = outerFromFile(layout, two, file);
    if (!back.ok || !back.value) throw new Error(back.ok ? 'no outer state' : back.detail);
    expect(bits(flat(two, back.value.map((o) => o.buf)))).toEqual(bits(flat(fragments, outer.map((o) => o.buf))));
    expect(back.value.map((o) => [o.acc, o.count])).toEqual([[null, 0], [null, 0]]);
  });

  it('refuses a state that is there in part, with a reason', () => {
    const good = (): SafetensorsFile => fileOf(new Float32Array(layout.totalSize), fragments, randomOuter(fragments, 6));
    const reason = (f: SafetensorsFile): string => { const r = outerFromFile(layout, fragments, f); return r.ok ? 'accepted' : `${r.reason}: ${r.detail}`; };
    const drop = (f: SafetensorsFile, name: string): SafetensorsFile => ({ ...f, tensors: f.tensors.filter((t) => t.name !== name) });
    expect(reason(drop(good(), `${MOMENTUM_PREFIX}b0.b`))).toBe(`layout-mismatch: the file has no tensor ${MOMENTUM_PREFIX}b0.b`);
    const reshaped = good();
    reshaped.tensors = reshaped.tensors.map((t) => (t.name === `${CYCLE_SUM_PREFIX}b0.w` ? { ...t, shape: [4, 3] } : t));
    expect(reason(reshaped)).toMatch(/^layout-mismatch: tensor tabswarm\.outer\.cycle_sum\.b0\.w has shape \[4, 3\]/);
    const stray = good();
    stray.tensors.push({ name: `${MOMENTUM_PREFIX}gone`, shape: [1], data: new Float32Array(1) });
    expect(reason(stray)).toMatch(/^layout-mismatch: the file has outer tensors for no parameter: tabswarm\.outer\.momentum\.gone/);
    const orphan = good();
    orphan.tensors = orphan.tensors.filter((t) => !t.name.startsWith(MOMENTUM_PREFIX));
    expect(reason(orphan)).toMatch(/^bad-field: the file has outer cycle sums without the momentum/);
    const counts = good();
    counts.metadata[META.outerCycleMerges] = '[0,-1,0]';
    expect(reason(counts)).toMatch(/^bad-field: metadata tabswarm\.outer_cycle_merges/);
    const noSums = good();
    noSums.tensors = noSums.tensors.filter((t) => !t.name.startsWith(CYCLE_SUM_PREFIX));
    expect(reason(noSums)).toMatch(/^bad-field: .*names open cycles/);
  });
});

describe('a run resumed from the file', () => {
  const fp32 = getCodec(0);
  if (!fp32.ok) throw new Error('fp32 codec missing');
  const cfg = makeSyncConfig({ runId: 'r', P: 2, H: 4, tau: 1, K: 1, uplinkCodec: 0, minStepMs: 1e-3, tokensPerStep: 10, stepBound: Number.MAX_VALUE });
  const hello = { type: 'hello', runId: 'r', learnerId: 'y', session: 0, layoutHash: layout.hash, tokensPerStep: 10, backend: 'cpu', uplinkCodec: 0 } as const;
  const delta = (n: number, x: number): Uint8Array => fp32.value.encode(Float32Array.from({ length: n }, (_, i) => x * (i % 3 - 1)));

  /** Join learner y, let it train 30 steps, and merge its push on every round the syncer opens (both fragments). */
  function mergeAll(s: Syncer, x: number, now: number): void {
    s.handle({ kind: 'join', id: 'y', now, hello });
    for (let k = 0; k < 2; k++) { // tau = 1: the round on the second fragment opens once the first has closed
      s.handle({ kind: 'message', id: 'y', now: now + 1, msg: { type: 'meta', t: 30, cSteps: [30, 30], cTokens: [300, 300], versions: [...s.model.versions], stepMs: 100 } });
      for (const r of [...s.rounds.values()]) {
        s.handle({ kind: 'message', id: 'y', now: now + 2, msg: { type: 'push', fragment: r.fragment, round: r.round, epoch: s.epoch, baseVersion: s.model.versions[r.fragment]!, seq: now + k, t: 30, cSteps: 4, cTokens: 40, codec: 0, payload: delta(s.fragments[r.fragment]!.size, x) } });
      }
    }
    s.handle({ kind: 'leave', id: 'y', now: now + 3 });
  }

  it('merges the next push exactly as the run it was saved from, and unlike a restart of the momentum', () => {
    const a = new Syncer(cfg, layout, Float32Array.from({ length: layout.totalSize }, (_, i) => Math.sin(i)), 1);
    for (let k = 0; k < 4; k++) mergeAll(a, 0.01 * (k + 1), 10 * k); // momentum now non-zero in both fragments
    expect(a.model.outer.every((o) => o.buf.some((v) => v !== 0)), `merges ${a.merges}, versions ${a.model.versions.join(', ')}`).toBe(true);
    const d = a.durable();
    const file = fileOf(d.theta, a.fragments, d.outer);
    const outer = outerFromFile(layout, a.fragments, file);
    if (!outer.ok || !outer.value) throw new Error(outer.ok ? 'no outer state' : outer.detail);
    const resumed = new Syncer(cfg, layout, new Float32Array(layout.totalSize), 2);
    resumed.restore({ ...d, epoch: 0, outer: outer.value });
    const zeroed = new Syncer(cfg, layout, new Float32Array(layout.totalSize), 2);
    zeroed.restore({ ...d, epoch: 0, outer: d.outer.map((o) => ({ buf: new Float32Array(o.buf.length), acc: null, count: 0 })) });
    for (const s of [a, resumed, zeroed]) mergeAll(s, 0.02, 100);
    expect([a.merges, resumed.merges, zeroed.merges]).toEqual([10, 2, 2]); // 4 × 2 before the file, 2 after it, in each
    expect(bits(resumed.model.theta)).toEqual(bits(a.model.theta));
    expect(resumed.model.outer.map((o) => bits(o.buf))).toEqual(a.model.outer.map((o) => bits(o.buf)));
    expect(bits(zeroed.model.theta)).not.toEqual(bits(a.model.theta)); // the file's momentum is what made the difference
  });
});
