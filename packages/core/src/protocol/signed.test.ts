import { describe, expect, it } from 'vitest';
import { DEFAULT_LR } from '../schedule';
import { encodeMessage } from './encode';
import { DEFAULT_LIMITS } from './limits';
import type { Message } from './messages';
import { openSigned, parseSigned, sealSigned, SIGNED_OVERHEAD, signingInput, type CoordinatorPin } from './signed';

// A stand-in signature scheme so core's framing and order of checks are tested without cryptography
// (the real Ed25519 path is tested in packages/net/src/identity.test.ts): "signature" = key XOR a checksum.
const checksum = (d: Uint8Array): number => d.reduce((h, b) => Math.imul(h ^ b, 16777619) >>> 0, 2166136261);
const fakeSign = (key: Uint8Array, d: Uint8Array): Uint8Array => {
  const c = checksum(d), sig = new Uint8Array(64);
  for (let i = 0; i < 64; i++) sig[i] = (key[i % 32]! ^ (c >>> (8 * (i % 4)))) & 0xff;
  return sig;
};
const digest = async (d: Uint8Array): Promise<Uint8Array> => Uint8Array.from({ length: 32 }, (_, i) => (checksum(d) >>> (i % 4) * 8) & 0xff);
const pinned = (key: Uint8Array): CoordinatorPin => ({
  digest,
  trusts: async (k) => k.every((x, i) => x === key[i]),
  verify: async (k, d, s) => fakeSign(k, d).every((x, i) => x === s[i]),
});
const real = new Uint8Array(32).fill(7), impostor = new Uint8Array(32).fill(9);
const seal = async (m: Message, key: Uint8Array): Promise<Uint8Array> => {
  const f = encodeMessage(m);
  return sealSigned(f, key, fakeSign(key, signingInput(f, await digest(f))));
};
const pull: Message = { type: 'pull', fragment: 1, round: 4 };
const snapshot = (epoch: number): Message => ({
  type: 'snapshot', runId: 'r', epoch, globalStep: 0, progress: 0, config: { P: 1, H: 8, tau: 1, K: 1, uplinkCodec: 3, blockSize: 64, lockstep: false, lr: DEFAULT_LR, tokensPerStep: 8 }, versions: [0], params: new Float32Array([1, 2]),
});

describe('signed coordinator frames', () => {
  it('a frame signed by the pinned key opens to the message it wraps', async () => {
    const bytes = await seal(pull, real);
    expect(bytes.length).toBe(SIGNED_OVERHEAD + encodeMessage(pull).length); // 102 bytes per frame
    expect(await openSigned(bytes, pinned(real))).toEqual({ ok: true, value: pull });
  });

  it('refuses, with a reason, every frame the pinned key did not sign', async () => {
    const pin = pinned(real);
    // An impostor's snapshot at the last epoch would fence the real coordinator out for good: wrong-key.
    expect(await openSigned(await seal(snapshot(2 ** 32 - 1), impostor), pin)).toMatchObject({ ok: false, reason: 'wrong-key' });
    expect(await openSigned(encodeMessage(pull), pin)).toMatchObject({ ok: false, reason: 'unsigned' });
    const tampered = await seal(snapshot(1), real);
    tampered[tampered.length - 1]! ^= 1; // one bit of the parameters
    expect(await openSigned(tampered, pin)).toMatchObject({ ok: false, reason: 'bad-signature' });
    // The real key's signature over another frame does not carry over (the epoch field rewritten).
    const a = await seal(snapshot(1), real), b = await seal(snapshot(2 ** 32 - 1), real);
    const spliced = Uint8Array.from(b);
    spliced.set(a.subarray(37, 102), 37);
    expect(await openSigned(spliced, pin)).toMatchObject({ ok: false, reason: 'bad-signature' });
  });

  it('checks structure before anything else', async () => {
    const good = await seal(pull, real);
    expect(parseSigned(good.subarray(0, 3))).toMatchObject({ ok: false, reason: 'truncated' });
    expect(parseSigned(good.subarray(0, 60))).toMatchObject({ ok: false, reason: 'truncated' });
    expect(parseSigned(Uint8Array.from([0x54, 0x54, ...good.subarray(2)]))).toMatchObject({ ok: false, reason: 'bad-magic' });
    expect(parseSigned(Uint8Array.from([0x54, 0x53, 3, ...good.subarray(3)]))).toMatchObject({ ok: false, reason: 'bad-version' });
    const badLen = Uint8Array.from(good);
    badLen[4] = 33;
    expect(parseSigned(badLen)).toMatchObject({ ok: false, reason: 'bad-field' });
    expect(parseSigned(new Uint8Array(200), { ...DEFAULT_LIMITS, maxBytes: 10 })).toMatchObject({ ok: false, reason: 'oversized' });
    expect(() => sealSigned(encodeMessage(pull), real.subarray(1), new Uint8Array(64))).toThrow(RangeError);
  });
});
