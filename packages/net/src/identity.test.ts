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
    expect(pin.source).toBe('first use');
    expect(await openSigned(await first.seal(encodeMessage(ack)), pin)).toMatchObject({ ok: true });
    expect(pin.fingerprint).toBe(first.fingerprint);
    expect(await openSigned(await later.seal(encodeMessage(snapshot(2 ** 32 - 1))), pin)).toMatchObject({ ok: false, reason: 'wrong-key' });
  });

  it('a key trusted on an earlier load of the tab stays pinned: a later key is refused before any is trusted', async () => {
    const first = await coordinatorSigner(await generateCoordinatorKey());
    const later = await coordinatorSigner(await generateCoordinatorKey());
    const kept: string[] = [];
    const memory = { known: undefined as string | undefined, remember: (fp: string) => kept.push(fp) };
    const load1 = pinCoordinator(undefined, memory);
    expect(await openSigned(await first.seal(encodeMessage(ack)), load1)).toMatchObject({ ok: true });
    expect(await openSigned(await first.seal(encodeMessage(ack)), load1)).toMatchObject({ ok: true });
    expect(kept).toEqual([first.fingerprint]); // once per load

    // The reload: the first frame comes from another key (an impostor on the coordinator's id, or another signal=).
    const load2 = pinCoordinator(undefined, { known: kept[0], remember: (fp) => kept.push(fp) });
    expect(load2.source).toBe('earlier load');
    expect(load2.fingerprint).toBe(first.fingerprint);
    expect(await openSigned(await later.seal(encodeMessage(snapshot(2 ** 32 - 1))), load2)).toMatchObject({ ok: false, reason: 'wrong-key' });
    expect(await openSigned(await first.seal(encodeMessage(ack)), load2)).toEqual({ ok: true, value: ack });
    expect(kept).toEqual([first.fingerprint, first.fingerprint]);
  });

  it('a join URL pin wins over the remembered key, and a remembered value that is not a fingerprint is ignored', async () => {
    const old = await coordinatorSigner(await generateCoordinatorKey());
    const fresh = await coordinatorSigner(await generateCoordinatorKey());
    const kept: string[] = [];
    const byUrl = pinCoordinator(fresh.fingerprint, { known: old.fingerprint, remember: (fp) => kept.push(fp) });
    expect(byUrl.source).toBe('join URL');
    expect(await openSigned(await old.seal(encodeMessage(ack)), byUrl)).toMatchObject({ ok: false, reason: 'wrong-key' });
    expect(await openSigned(await fresh.seal(encodeMessage(ack)), byUrl)).toMatchObject({ ok: true });
    expect(kept).toEqual([fresh.fingerprint]);

    const junk = pinCoordinator(undefined, { known: 'not-a-fingerprint', remember: () => undefined });
    expect(junk.source).toBe('first use');
    expect(await openSigned(await old.seal(encodeMessage(ack)), junk)).toMatchObject({ ok: true });
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
