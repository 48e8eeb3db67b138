/**
 * Hostile traffic for the fuzz spec (issue #4): 10,000 messages a live coordinator must refuse, each
 * with a reason. Built from the real encoder, then broken on purpose; every frame meant to fail decoding
 * is checked here against the real decoder, so the count of expected refusals is exact.
 *  - malformed: a valid frame truncated, extended, bit-flipped, or with a bad magic/version/type byte;
 *  - non-finite: NaN/Inf written into a counter or a payload;
 *  - forged: well-formed pushes the syncer must refuse (other epoch, unknown round or fragment, no
 *    steps, impossible token claims), and learner-bound message types sent the wrong way;
 *  - replayed: one forged push sent again and again (the first is refused, the rest are duplicates).
 */
import { decodeMessage, encodeMessage, fp32, makeRng, type Message, type Rng } from '@tabswarm/core';

export interface FuzzPlan { frames: Uint8Array[]; byKind: Record<string, number> }

const push = (over: Partial<Extract<Message, { type: 'push' }>>): Message => ({
  type: 'push', fragment: 0, round: 999_999, epoch: 1, baseVersion: 0, seq: 1, t: 10, cSteps: 4, cTokens: 128, codec: 0,
  payload: encodeFp32([0.01, -0.02, 0.03]), ...over,
});

/** A real fp32 codec payload; non-finite values are written over the encoded floats afterwards. */
function encodeFp32(values: number[]): Uint8Array {
  const p = fp32.encode(Float32Array.from(values, (v) => (Number.isFinite(v) ? v : 0)), 128);
  const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
  values.forEach((v, i) => { if (!Number.isFinite(v)) dv.setFloat32(p.length - 4 * (values.length - i), v, true); });
  return p;
}

function mutate(rng: Rng, b: Uint8Array): Uint8Array {
  const out = Uint8Array.from(b);
  switch (rng.int(6)) {
    case 0: return out.subarray(0, rng.int(out.length)); // truncated
    case 1: return Uint8Array.from([...out, ...Array.from({ length: 1 + rng.int(16) }, () => rng.int(256))]); // trailing bytes
    case 2: { const i = rng.int(out.length); out[i] = out[i]! ^ (1 << rng.int(8)); return out; } // one bit flipped
    case 3: out[0] = 0x58; return out; // bad magic
    case 4: out[2] = 9; return out; // a protocol version nobody speaks
    default: out[3] = 200 + rng.int(50); return out; // unknown type
  }
}

export function fuzzPlan(seed: number, layoutHash: string): FuzzPlan {
  const rng = makeRng(seed);
  const frames: Uint8Array[] = [];
  const byKind: Record<string, number> = {};
  const add = (kind: string, f: Uint8Array): void => { frames.push(f); byKind[kind] = (byKind[kind] ?? 0) + 1; };
  const pool: Message[] = [
    { type: 'meta', t: 5, cSteps: [1, 2], cTokens: [32, 64], stepMs: 20, versions: [0, 0] },
    push({}),
    { type: 'heartbeat', t: 3, nowMs: 1234.5 },
    { type: 'hello', runId: 'x', learnerId: 'fuzz', session: 1, layoutHash, tokensPerStep: 32, backend: 'cpu', uplinkCodec: 0 },
  ];
  while (frames.length < 4000) {
    const f = mutate(rng, encodeMessage(pool[rng.int(pool.length)]!));
    if (!decodeMessage(f).ok) add('malformed', f); // a mutation that still decodes is not hostile: skip it
  }
  for (let i = 0; i < 2000; i++) {
    if (i % 2) {
      const f = encodeMessage({ type: 'meta', t: 5, cSteps: [1, 2], cTokens: [32, 64], stepMs: 20, versions: [0, 0] });
      new DataView(f.buffer, f.byteOffset).setFloat64(24, [NaN, Infinity, -Infinity][i % 3]!, true); // cTokens[0]
      if (decodeMessage(f).ok) throw new Error('a NaN meta decoded');
      add('non-finite', f);
    } else add('non-finite', encodeMessage(push({ seq: 10_000 + i, round: 1 + (i % 50), payload: encodeFp32([NaN, 1, Infinity]) })));
  }
  const forged: Array<Partial<Extract<Message, { type: 'push' }>>> = [
    { epoch: 7 }, { round: 999_999 }, { fragment: 300 }, { cSteps: 0 }, { cTokens: 1e9 }, { cSteps: 4_000_000_000, cTokens: 1e9 },
  ];
  for (let i = 0; i < 1500; i++) add('forged', encodeMessage(push({ ...forged[i % forged.length], seq: 20_000 + i })));
  const wrongWay: Message[] = [
    { type: 'pull', fragment: 0, round: 1 },
    { type: 'ack', fragment: 0, round: 1, seq: 1, session: 1, outcome: 'merged', reason: null },
    { type: 'status', globalStep: 1, loss: 1, learners: 1, learnerTokens: 1, yourTokens: 1 },
    { type: 'reject', reason: 'duplicate', detail: 'forged' },
  ];
  for (let i = 0; i < 500; i++) add('forged', encodeMessage(wrongWay[i % wrongWay.length]!));
  const replayed = encodeMessage(push({ seq: 42, round: 999_998 }));
  for (let i = 0; i < 2000; i++) add('replayed', replayed);
  return { frames, byKind };
}
