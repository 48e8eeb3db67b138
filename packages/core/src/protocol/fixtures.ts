/**
 * Seeded example messages of every type, for the protocol tests and for other modules' tests that
 * need realistic frames. Small arrays so that fuzzing thousands of them stays fast.
 */
import { int4, int8 } from '../codecs';
import type { Rng } from '../rng';
import { f32ToHalfBits, halfBitsToF32 } from './half';
import type { Message, MessageType } from './messages';
import { DEFAULT_LR } from '../schedule';

const ID_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-';

function id(rng: Rng, min: number, max: number): string {
  let s = '';
  const n = min + rng.int(max - min + 1);
  for (let i = 0; i < n; i++) s += ID_CHARS[rng.int(ID_CHARS.length)] ?? 'x';
  return s;
}

const u32 = (rng: Rng): number => rng.int(0x100000000);
const floats = (rng: Rng, n: number, scale: number): Float32Array => Float32Array.from({ length: n }, () => rng.normal() * scale);

/** One valid message of the given type. */
export function sampleMessage(type: MessageType, rng: Rng): Message {
  const P = 1 + rng.int(6);
  switch (type) {
    case 'hello':
      return {
        type, runId: id(rng, 1, 64), learnerId: id(rng, 1, 64), session: u32(rng), layoutHash: id(rng, 8, 16),
        tokensPerStep: 1 + rng.int(100000), backend: ['webgpu', 'wasm', 'cpu'][rng.int(3)] ?? 'cpu', uplinkCodec: rng.int(256),
      };
    case 'snapshot':
      return {
        type, runId: id(rng, 1, 12), epoch: u32(rng), globalStep: u32(rng), progress: rng.next(),
        config: { P, H: 1 + rng.int(64), tau: 1 + rng.int(4), K: 1 + rng.int(8), uplinkCodec: rng.int(4), blockSize: 64, lockstep: rng.int(2) === 1, lr: { ...DEFAULT_LR, peak: 1e-4 + rng.next() * 1e-2 }, tokensPerStep: 1 + rng.int(4096) },
        versions: Array.from({ length: P }, () => u32(rng)),
        params: floats(rng, rng.int(40), 0.1),
      };
    case 'meta':
      return {
        type, t: u32(rng), cSteps: Array.from({ length: P }, () => rng.int(100)),
        cTokens: Array.from({ length: P }, () => rng.int(100) * 256 + rng.next()),
        versions: Array.from({ length: P }, () => rng.int(1000)), stepMs: rng.exponential(50),
      };
    case 'pull':
      return { type, fragment: rng.int(P), round: u32(rng) };
    case 'push':
      return {
        type, fragment: rng.int(P), round: u32(rng), epoch: u32(rng), baseVersion: u32(rng), seq: u32(rng), t: u32(rng),
        cSteps: rng.int(100), cTokens: rng.int(100000), codec: rng.int(4),
        payload: Uint8Array.from({ length: rng.int(48) }, () => rng.int(256)),
      };
    case 'ack': {
      const merged = rng.next() < 0.5;
      return {
        type, fragment: rng.int(P), round: u32(rng), seq: u32(rng), session: u32(rng), outcome: merged ? 'merged' : 'rejected',
        reason: merged ? null : (['stale-base', 'duplicate', 'round-closed', 'non-finite'] as const)[rng.int(4)] ?? 'duplicate',
      };
    }
    case 'broadcast': {
      const head = { type, fragment: rng.int(P), version: 1 + rng.int(0xffffffff), epoch: u32(rng), globalStep: u32(rng), progress: rng.next() } as const;
      const kind = rng.int(3);
      if (kind === 2) {
        const codec = rng.next() < 0.5 ? int8 : int4;
        return { ...head, precision: 'delta', baseVersion: rng.int(head.version), codec: codec.id, payload: codec.encode(floats(rng, rng.int(40), 0.01), 8) };
      }
      // fp16-exact values so that the decoded message deep-equals the original either way
      return { ...head, precision: kind === 1 ? 'fp16' : 'fp32', values: Float32Array.from({ length: rng.int(40) }, () => halfBitsToF32(f32ToHalfBits(rng.normal()))) };
    }
    case 'heartbeat':
      return { type, t: u32(rng), nowMs: rng.next() * 1e12 };
    case 'bye':
      return { type };
    case 'status':
      return { type, globalStep: u32(rng), loss: rng.exponential(2), learners: rng.int(100), learnerTokens: rng.exponential(1e6), yourTokens: rng.exponential(1e5) };
    case 'reject':
      return { type, reason: 'layout-mismatch', detail: `layout ${id(rng, 0, 16)} is not this run's (see /help)` };
    case 'backend':
      return { type, backend: ['webgpu', 'webgl', 'wasm', 'cpu'][rng.int(4)] ?? 'cpu' };
  }
}

export const ALL_TYPES: readonly MessageType[] = [
  'hello', 'snapshot', 'meta', 'pull', 'push', 'ack', 'broadcast', 'heartbeat', 'bye', 'reject', 'status', 'backend',
];
