/** The coordinator's identity with the real WebCrypto Ed25519 (Node's, as in the pages). */
import { DEFAULT_LR, encodeMessage, openSigned, type Message } from '@tabswarm/core';
import { describe, expect, it } from 'vitest';
import { coordinatorSigner, FINGERPRINT_PATTERN, generateCoordinatorKey, pinCoordinator } from './identity';

const snapshot = (epoch: number): Message => ({
  type: 'snapshot', runId: 'r', epoch, globalStep: 3, progress: 0.1, config: { P: 1, H: 8, tau: 1, K: 1, uplinkCodec: 3, blockSize: 64, lockstep: false, lr: DEFAULT_LR, tokensPerStep: 8 }, versions: [2], params: new Float32Array([1, 2, 3]),
});
const ack: Message = { type: 'ack', fragment: 0, round: 2, seq: 1, session: 1, outcome: 'merged', reason: null };

describe('coordinator identity', () => {
  it('a pin from the join URL accepts its coordinator and refuses an impostor with its own key', async () => {
    const real = await coordinatorSigner(await generateCoordinatorKey());
    const impostor = await coordinatorSigner(await generateCoordinatorKey());
    expect(real.fingerprint).toMatch(FINGERPRINT_PATTERN);
    expect(real.fingerprint).not.toBe(impostor.fingerprint);
    const pin = pinCoordinator(real.fingerprint);
    expect(await openSigned(await real.seal(encodeMessage(snapshot(1))), pin)).toEqual({ ok: true, value: snapshot(1) });
    expect(await openSigned(await impostor.seal(encodeMessage(snapshot(2 ** 32 - 1))), pin)).toMatchObject({ ok: false, reason: 'wrong-key' });
    // The impostor's key in front of the real key's signature, and the real key in front of the impostor's.
    const forged = await impostor.seal(encodeMessage(ack));
    forged.set(real.publicKey, 5);
    expect(await openSigned(forged, pin)).toMatchObject({ ok: false, reason: 'bad-signature' });
    expect(await openSigned(await real.seal(encodeMessage(ack)), pin)).toEqual({ ok: true, value: ack }); // still trusted afterwards
  });

  it('without a URL pin, trusts the first key that signs and refuses any later one', async () => {
    const first = await coordinatorSigner(await generateCoordinatorKey());
    const later = await coordinatorSigner(await generateCoordinatorKey());
    const pin = pinCoordinator(undefined);
    expect(pin.fromUrl).toBe(false);
    expect(await openSigned(await first.seal(encodeMessage(ack)), pin)).toMatchObject({ ok: true });
    expect(pin.fingerprint).toBe(first.fingerprint);
    expect(await openSigned(await later.seal(encodeMessage(snapshot(2 ** 32 - 1))), pin)).toMatchObject({ ok: false, reason: 'wrong-key' });
  });

  it('refuses a malformed fingerprint in the join URL', () => {
    expect(() => pinCoordinator('abc')).toThrow(/43 base64url/);
  });

  it('the private key cannot be exported', async () => {
    const pair = await generateCoordinatorKey();
    expect(pair.privateKey.extractable).toBe(false);
    await expect(crypto.subtle.exportKey('pkcs8', pair.privateKey)).rejects.toThrow();
  });
});
