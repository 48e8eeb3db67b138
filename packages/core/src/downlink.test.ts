import { describe, expect, it } from 'vitest';
import { int4, int8 } from './codecs';
import { applyUpdate, quantizationOf, quantizeUpdate } from './downlink';
import { makeLayout } from './layout';
import { LearnerState } from './learner/state';
import type { DeltaBroadcastMsg, FullBroadcastMsg } from './protocol';
import { REASONS, type Result } from './result';
import { makeRng } from './rng';
import { makeSyncConfig, type SyncConfig } from './syncer/config';
import type { Msg, SyncCommand } from './syncer/events';
import { Syncer } from './syncer/syncer';

const sameBits = (a: Float32Array, b: Float32Array): boolean =>
  a.length === b.length && new Uint32Array(a.buffer, a.byteOffset, a.length).every((x, i) => x === new Uint32Array(b.buffer, b.byteOffset, b.length)[i]);
const unwrap = <T>(r: Result<T>): T => { if (!r.ok) throw new Error(`${r.reason}: ${r.detail}`); return r.value; };

describe('applyUpdate / quantizeUpdate', () => {
  it('adopts prev + the dequantised update (hand-worked int8 block)', () => {
    // d = next − prev = [1, −0.5]; scale 1, q = [127, round(−63.5) = −63] → d̂ = [1, −63/127].
    const prev = Float32Array.from([1, 2]), next = Float32Array.from([2, 1.5]);
    const u = unwrap(quantizeUpdate(prev, next, { codec: int8.id, blockSize: 8 }));
    expect([...u.payload]).toEqual([...int8.encode(Float32Array.from([1, -0.5]), 8)]);
    expect([...u.adopted]).toEqual([2, Math.fround(2 + Math.fround(-63 * (1 / 127)))]);
    expect(sameBits(unwrap(applyUpdate(prev, u.codec, u.payload)), u.adopted)).toBe(true);
  });

  it('quantises the int8 / int4 downlinks with the run\'s block size and leaves fp32 / fp16 exact', () => {
    expect(['fp32', 'fp16', 'int8', 'int4'].map((d) => quantizationOf(d as 'fp32', 64))).toEqual([null, null, { codec: 2, blockSize: 64 }, { codec: 3, blockSize: 64 }]);
  });

  it('stays within the codec error bound of the exact step, per element', () => {
    const rng = makeRng(5);
    const prev = Float32Array.from({ length: 300 }, () => rng.normal());
    const next = Float32Array.from(prev, (v) => v + 1e-3 * rng.normal());
    for (const codec of [int8, int4]) {
      const d = Float32Array.from(next, (v, i) => v - prev[i]!);
      const bound = codec.errorBound(d, 128) + 2 ** -23 * 4; // plus the fp32 rounding of the sums (|Θ| < 4)
      const u = unwrap(quantizeUpdate(prev, next, { codec: codec.id, blockSize: 128 }));
      u.adopted.forEach((v, i) => expect(Math.abs(v - next[i]!)).toBeLessThanOrEqual(bound));
    }
  });

  it('refuses what it cannot apply, with a reason, and never throws on hostile payloads', () => {
    const base = Float32Array.from({ length: 21 }, (_, i) => i / 7);
    const good = int4.encode(Float32Array.from({ length: 21 }, (_, i) => Math.sin(i)), 8);
    const reason = (r: Result<Float32Array>): string => (r.ok ? 'ok' : r.reason);
    expect(reason(applyUpdate(base, int4.id, good))).toBe('ok');
    expect(reason(applyUpdate(base, int8.id, good))).toBe('bad-codec'); // the wire codec and the payload disagree
    expect(reason(applyUpdate(base, 9, good))).toBe('bad-codec');
    expect(reason(applyUpdate(base.subarray(1), int4.id, good))).toBe('length-mismatch');
    expect(reason(applyUpdate(Float32Array.from([3e38]), int8.id, int8.encode(Float32Array.from([3e38]), 8)))).toBe('non-finite');
    const rng = makeRng(77);
    for (let trial = 0; trial < 3000; trial++) {
      const b = good.slice(0, rng.next() < 0.1 ? rng.int(good.length + 1) : good.length);
      for (let k = 0, n = 1 + rng.int(4); k < n && b.length > 0; k++) b[rng.int(b.length)] = rng.int(256);
      const r = applyUpdate(base, rng.next() < 0.9 ? int4.id : rng.int(256), b);
      if (r.ok) expect(r.value.length === 21 && r.value.every(Number.isFinite)).toBe(true);
      else expect(REASONS).toContain(r.reason);
    }
  });

  it('refuses a corrupt logged quantisation instead of throwing', () => {
    const x = Float32Array.from([1, 2]);
    for (const q of [{ codec: 42, blockSize: 128 }, { codec: int8.id, blockSize: 4 }, { codec: int8.id, blockSize: 8.5 }]) {
      const r = quantizeUpdate(x, x, q);
      expect(r.ok ? 'ok' : r.reason).toBe('bad-codec');
    }
    expect(quantizeUpdate(x, Float32Array.from([1, Infinity]), { codec: int8.id, blockSize: 8 })).toMatchObject({ ok: false, reason: 'non-finite' });
  });
});

// One fragment (P = 1) of 40 values: every round is a new version of the same fragment.
const layout = makeLayout([{ name: 'w', shape: [40], kind: 'dense' }]);
const init = Float32Array.from({ length: 40 }, (_, i) => Math.cos(i));
const setup = (downlink: SyncConfig['downlink']): Syncer =>
  new Syncer(makeSyncConfig({ runId: 'r', P: 1, H: 2, tau: 1, K: 1, uplinkCodec: 0, blockSize: 16, minStepMs: 1e-3, tokensPerStep: 10, stepBound: Number.MAX_VALUE, downlink }), layout, init);
const hello = (id: string): Msg<'hello'> => ({ type: 'hello', runId: 'r', learnerId: id, session: 0, layoutHash: layout.hash, tokensPerStep: 10, backend: 'cpu', uplinkCodec: 0 });
const broadcasts = (cmds: SyncCommand[]): Array<{ to: string[]; msg: Msg<'broadcast'> }> =>
  cmds.flatMap((c) => (c.kind === 'broadcast' && c.msg.type === 'broadcast' ? [{ to: c.to, msg: c.msg }] : []));

/** A learner tab: LearnerState plus its parameters, trained by a fixed nudge per step. */
class Tab {
  readonly st = new LearnerState(layout);
  params: Float32Array;
  constructor(readonly id: string, readonly s: Syncer) {
    const snap = s.handle({ kind: 'join', id, now: 0, hello: hello(id) }).find((c) => c.kind === 'send')!;
    if (snap.kind !== 'send' || snap.msg.type !== 'snapshot') throw new Error('no snapshot');
    this.params = unwrap(this.st.applySnapshot(snap.msg)).params;
  }
  train(steps: number, now: number): SyncCommand[] {
    for (let k = 0; k < steps; k++) { this.params = this.params.map((v, i) => v + 0.01 * Math.sin(i + k + this.st.t)); this.st.recordStep(10); }
    return this.s.handle({ kind: 'message', id: this.id, now, msg: this.st.meta(50) });
  }
  answer(cmds: SyncCommand[], now: number): SyncCommand[] {
    const pull = cmds.flatMap((c) => ((c.kind === 'send' || c.kind === 'broadcast') && c.msg.type === 'pull' && (c.kind === 'broadcast' ? c.to.includes(this.id) : c.to === this.id) ? [c.msg] : []))[0];
    const push = pull && this.st.makePush(pull, this.params);
    return push ? this.s.handle({ kind: 'message', id: this.id, now, msg: push }) : [];
  }
  receive(b: Msg<'broadcast'>): Result<Float32Array> {
    const r = this.st.applyBroadcast(b);
    if (r.ok) this.params = r.value;
    return r;
  }
}

/** One round on the single fragment: x trains and pushes; returns the commands of the close. */
function round(x: Tab, now: number): SyncCommand[] {
  return x.answer(x.train(2, now), now + 1);
}

describe('the syncer sends the quantised update to learners at v−1 and full values to the rest', () => {
  it.each(['int8', 'int4'] as const)('%s: a learner at v−1 and the syncer hold identical bits after the update', (downlink) => {
    const s = setup(downlink), exact = setup('fp32');
    const x = new Tab('x', s), xe = new Tab('x', exact);
    let now = 1;
    for (let v = 1; v <= 4; v++, now += 10) {
      const out = round(x, now), outExact = round(xe, now);
      const [b] = broadcasts(out);
      expect(b!.to).toEqual(['x']);
      expect(b!.msg.precision).toBe('delta'); // x's META said it holds the previous version
      const d = b!.msg as DeltaBroadcastMsg;
      expect([d.baseVersion, d.version]).toEqual([v - 1, v]);
      unwrap(x.receive(d));
      const held = s.model.fragmentValues(0);
      expect(sameBits(x.st.anchors[0]!, held)).toBe(true);
      expect(sameBits(s.model.at(0, d.version)!, held)).toBe(true);
      const commit = out.find((c) => c.kind === 'commit');
      expect(commit?.kind === 'commit' && sameBits(commit.commit.values, held)).toBe(true);
      expect(commit?.kind === 'commit' && commit.commit.entry.quantized).toEqual({ codec: downlink === 'int8' ? 2 : 3, blockSize: 16 });
      // Against an exact (fp32-downlink) syncer fed the same pushes: the first round's value differs from the
      // exact step by at most the codec's bound, and the first momentum is the exact one (the adoption
      // does not touch the optimizer state).
      xe.receive(broadcasts(outExact)[0]!.msg);
      if (v === 1) {
        const e = exact.model.fragmentValues(0), prev = init;
        const bound = (downlink === 'int8' ? int8 : int4).errorBound(Float32Array.from(e, (y, i) => y - prev[i]!), 16) + 2 ** -22;
        held.forEach((y, i) => expect(Math.abs(y - e[i]!)).toBeLessThanOrEqual(bound));
        expect(sameBits(held, e)).toBe(false); // the quantisation did happen
        expect(sameBits(s.model.outer[0]!.buf, exact.model.outer[0]!.buf)).toBe(true);
      }
    }
  });

  it('a learner whose META holds v−2, or none yet, gets the full fp32 values, with the same bits', () => {
    const s = setup('int8');
    const x = new Tab('x', s), y = new Tab('y', s);
    y.train(0, 0.5); // a META with no steps: y holds v0 (and is not pulled)
    const first = broadcasts(round(x, 1));
    expect(first.map((b) => [b.to, b.msg.precision])).toEqual([[['x', 'y'], 'delta']]);
    for (const t of [x, y]) unwrap(t.receive(first[0]!.msg));
    expect(y.st.baseVersions[0]).toBe(s.model.versions[0]); // y holds v1 but has told the syncer nothing since v0
    const z = new Tab('z', s); // joined now: no META yet
    const out = broadcasts(round(x, 20));
    expect(out.map((b) => [b.to, b.msg.precision])).toEqual([[['x'], 'delta'], [['y', 'z'], 'fp32']]);
    const full = out[1]!.msg as FullBroadcastMsg;
    unwrap(x.receive(out[0]!.msg));
    unwrap(y.receive(full));
    unwrap(z.receive(full));
    for (const t of [x, y, z]) expect(sameBits(t.st.anchors[0]!, s.model.fragmentValues(0))).toBe(true);
  });

  it('fp32 and fp16 downlinks send full values to everyone, as before', () => {
    for (const downlink of ['fp32', 'fp16'] as const) {
      const s = setup(downlink);
      const x = new Tab('x', s);
      const out = broadcasts(round(x, 1));
      expect(out.map((b) => [b.to, b.msg.precision])).toEqual([[['x'], downlink]]);
    }
  });
});

describe('a learner refuses an update it cannot apply', () => {
  it('against another base (stale-base) or from an epoch whose snapshot has not come (stale-epoch): nothing changes', () => {
    const s = setup('int8');
    const x = new Tab('x', s), y = new Tab('y', s);
    const [b] = broadcasts(round(x, 1));
    const d = b!.msg as DeltaBroadcastMsg;
    unwrap(x.receive(d));
    const next = broadcasts(round(x, 20))[0]!.msg as DeltaBroadcastMsg; // against v1, which y never received
    const before = Float32Array.from(y.st.anchors[0]!);
    for (const [m, reason] of [[next, 'stale-base'], [{ ...d, epoch: d.epoch + 1 }, 'stale-epoch']] as const) {
      const r = y.receive(m);
      expect(r.ok ? 'ok' : r.reason).toBe(reason);
    }
    expect(y.st.baseVersions[0]).toBe(0);
    expect(sameBits(y.st.anchors[0]!, before)).toBe(true);
    unwrap(y.receive(d)); // the right base still applies
    expect(y.receive(d)).toMatchObject({ ok: false, reason: 'duplicate' });
  });

  it('a hostile payload is refused with a reason and leaves the learner as it was', () => {
    const s = setup('int4');
    const x = new Tab('x', s);
    const d = broadcasts(round(x, 1))[0]!.msg as DeltaBroadcastMsg;
    const cases: Array<[DeltaBroadcastMsg, string]> = [
      [{ ...d, codec: 0 }, 'bad-codec'],
      [{ ...d, payload: d.payload.subarray(0, d.payload.length - 1) }, 'truncated'],
      [{ ...d, payload: int4.encode(new Float32Array(39), 16) }, 'length-mismatch'],
    ];
    for (const [m, reason] of cases) {
      const r = x.receive(m);
      expect(r.ok ? 'ok' : r.reason).toBe(reason);
      expect(x.st.baseVersions[0]).toBe(0);
    }
  });
});
