import { encodeMessage, getCodec, makeLayout, makeSyncConfig, Syncer, type DurableState } from '@tabswarm/core';
import { describe, expect, it } from 'vitest';
import { saveState, stateFromStateFile } from './state-file';

const layout = makeLayout([
  { name: 'w', shape: [6, 3], kind: 'dense' },
  { name: 'b', shape: [5], kind: 'dense' },
]);
const cfg = makeSyncConfig({ runId: 'r', P: 2, H: 4, tau: 1, K: 1, uplinkCodec: 0, minStepMs: 1e-3, tokensPerStep: 10, stepBound: Number.MAX_VALUE });
const hello = { type: 'hello', runId: 'r', learnerId: 'y', session: 3, layoutHash: layout.hash, tokensPerStep: 10, backend: 'cpu', uplinkCodec: 0 } as const;

/** A syncer after two merges on each fragment: momentum, versions, dedupe rows and norm windows all non-trivial. */
function trained(): Syncer {
  const fp32 = getCodec(0);
  if (!fp32.ok) throw new Error('fp32 codec missing');
  const s = new Syncer(cfg, layout, Float32Array.from({ length: layout.totalSize }, (_, i) => Math.cos(i)), 1);
  s.handle({ kind: 'join', id: 'y', now: 0, hello });
  for (let k = 0; k < 4; k++) {
    s.handle({ kind: 'message', id: 'y', now: 10 * k + 1, msg: { type: 'meta', t: 30 * (k + 1), cSteps: [4, 4], cTokens: [40, 40], versions: [...s.model.versions], stepMs: 100 } });
    for (const r of [...s.rounds.values()]) {
      const n = s.fragments[r.fragment]!.size;
      const payload = fp32.value.encode(Float32Array.from({ length: n }, (_, i) => 0.01 * (k + 1) * ((i % 3) - 1)));
      s.handle({ kind: 'message', id: 'y', now: 10 * k + 2, msg: { type: 'push', fragment: r.fragment, round: r.round, epoch: s.epoch, baseVersion: s.model.versions[r.fragment]!, seq: k + 1, t: 30 * (k + 1), cSteps: 4, cTokens: 40, codec: 0, payload } });
    }
  }
  return s;
}

const bytesOf = async (s: Syncer): Promise<Uint8Array> => new Uint8Array(await saveState(s).arrayBuffer());
const bitsOf = (a: Float32Array | null): number[] | null => a && Array.from(new Uint32Array(Float32Array.from(a).buffer));
const comparable = (d: DurableState): unknown => ({ ...d, epoch: 0, theta: bitsOf(d.theta), outer: d.outer.map((o) => ({ buf: bitsOf(o.buf), acc: bitsOf(o.acc), count: o.count })) });
const refusal = (bytes: Uint8Array, s: Syncer): string => {
  try {
    stateFromStateFile(bytes, s.layout, s.fragments);
    return 'accepted';
  } catch (e) {
    return (e as Error).message;
  }
};
/** The file with its JSON header rewritten by `edit` (the arrays after it unchanged and still aligned). */
function withHeader(bytes: Uint8Array, edit: (h: Record<string, unknown>) => void): Uint8Array {
  const len = new DataView(bytes.buffer, bytes.byteOffset).getUint32(4, true);
  const h = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + len))) as Record<string, unknown>;
  edit(h);
  const json = new TextEncoder().encode(JSON.stringify(h));
  const padded = json.length + ((4 - (json.length % 4)) % 4);
  const out = new Uint8Array(8 + padded + bytes.length - 8 - len).fill(0x20, 8, 8 + padded);
  out.set(bytes.subarray(0, 4));
  new DataView(out.buffer).setUint32(4, padded, true);
  out.set(json, 8);
  out.set(bytes.subarray(8 + len), 8 + padded);
  return out;
}

describe('the state file', () => {
  it('reads back, bit for bit, the durable state it was saved from (epoch 0, for the next incarnation)', async () => {
    const s = trained();
    expect(s.merges, 'merges made').toBeGreaterThanOrEqual(4);
    expect(s.model.outer.every((o) => o.buf.some((x) => x !== 0))).toBe(true);
    const d = stateFromStateFile(await bytesOf(s), s.layout, s.fragments);
    expect(d.epoch).toBe(0);
    expect(d.dedupe.length).toBeGreaterThan(0);
    expect(comparable(d)).toEqual(comparable(s.durable()));
    // It restores into a new incarnation, which then saves the same file.
    const again = new Syncer(cfg, layout, new Float32Array(layout.totalSize), 2);
    again.restore(d);
    expect(comparable(again.durable())).toEqual(comparable(s.durable()));
  });

  it('refuses, with a reason code, every file that is not a whole state of this run\'s model and plan', async () => {
    const s = trained();
    const good = await bytesOf(s);
    expect(refusal(good.subarray(0, 5), s)).toMatch(/\(truncated\)/);
    expect(refusal(Uint8Array.from(good, (b, i) => (i === 0 ? b ^ 1 : b)), s)).toMatch(/\(bad-magic\)/);
    expect(refusal(good.subarray(0, good.length - 4), s)).toMatch(/\(length-mismatch\)/);
    expect(refusal(Uint8Array.from([...good, 0, 0, 0, 0]), s)).toMatch(/\(length-mismatch\)/);
    const other = new Syncer(makeSyncConfig({ ...cfg, P: 1 }), layout, new Float32Array(layout.totalSize), 1);
    expect(refusal(good, other)).toMatch(/\(layout-mismatch\): state has P=2, this run has P=1/);
    const nan = Uint8Array.from(good);
    new DataView(nan.buffer).setFloat32(nan.length - 4, NaN, true);
    expect(refusal(nan, s)).toMatch(/\(non-finite\)/);
    const edits: Array<[(h: Record<string, unknown>) => void, RegExp]> = [
      [(h) => { h.format = 'tabswarm-state/1'; }, /\(bad-version\)/],
      [(h) => { h.layoutHash = 'ffffffffffffffff'; }, /\(layout-mismatch\)/],
      [(h) => { (h.counters as Record<string, unknown>).globalStep = -1; }, /\(bad-field\): counters/],
      [(h) => { (h.counters as Record<string, unknown>).mergedTokens = '1e9'; }, /\(bad-field\): counters/],
      [(h) => { (h.counters as Record<string, unknown>).nextFragment = 2; }, /\(bad-field\): next fragment 2/],
      [(h) => { (h.counters as { versions: number[] }).versions = [1, 1e6]; }, /\(bad-field\): versions/],
      [(h) => { h.counts = [1, 0]; }, /\(bad-field\): Delayed Nesterov counts/],
      [(h) => { (h.counters as { dedupe: Array<Record<string, unknown>> }).dedupe[0]!.reason = 'no-such-reason'; }, /\(bad-field\): dedupe rows/],
      [(h) => { (h.counters as { dedupe: Array<Record<string, unknown>> }).dedupe[0]!.fragment = 7; }, /\(bad-field\): dedupe rows/],
      [(h) => { (h.counters as Record<string, unknown>).norms = [[1], 'x']; }, /\(bad-field\): norm windows/],
      [(h) => { h.sizes = [23, 11, 12]; }, /\(length-mismatch\)/],
    ];
    for (const [edit, want] of edits) expect(refusal(withHeader(good, edit), s)).toMatch(want);
    const junk = Uint8Array.from(good);
    junk.fill(0x7b, 8, 12); // '{{{{' : not JSON
    expect(refusal(junk, s)).toMatch(/\(bad-field\): the header is not UTF-8 JSON/);
  });

  it('takes counters up to 2^32 - 1, the largest the protocol\'s u32 fields carry, and refuses one above, naming it', async () => {
    const s = trained();
    const good = await bytesOf(s);
    const counters = (edit: (c: Record<string, unknown>) => void) => withHeader(good, (h) => edit(h.counters as Record<string, unknown>));
    const row = (edit: (r: Record<string, unknown>) => void) => counters((c) => edit((c.dedupe as Array<Record<string, unknown>>)[0]!));
    const top = stateFromStateFile(counters((c) => { c.globalStep = 2 ** 32 - 1; (c.dedupe as Array<Record<string, unknown>>)[0]!.round = 2 ** 32 - 1; }), s.layout, s.fragments);
    expect([top.globalStep, top.dedupe[0]!.round]).toEqual([4294967295, 4294967295]);
    const again = new Syncer(cfg, layout, new Float32Array(layout.totalSize), 2);
    again.restore(top);
    expect(encodeMessage(again.snapshotFor()).length).toBeGreaterThan(4 * layout.totalSize);
    expect(refusal(counters((c) => { c.globalStep = 2 ** 32; }), s)).toBe('state file refused (bad-field): counters: global step 4294967296 is above 4294967295, the largest a u32 field carries');
    for (const v of ['', '0x10', '1e3', '-1', ' 7']) expect(refusal(counters((c) => { c.globalStep = v; }), s), JSON.stringify(v)).toMatch(/\(bad-field\): counters/);
    for (const k of ['session', 'seq', 'round']) {
      expect(refusal(row((r) => { r[k] = 2 ** 32; }), s), k).toBe('state file refused (bad-field): dedupe rows: want id, session, seq and round from 0 to 4294967295, fragment in range and a reason code or null');
    }
  });
});
