/**
 * The coordinator's identity, with WebCrypto (docs/security.md §2). Each run has an Ed25519 key pair
 * whose private half is non-extractable (the coordinator page keeps the CryptoKey objects in IndexedDB);
 * the join URL carries the public key's fingerprint in its fragment, `#coord=<fp>`, which no server sees.
 * Every frame the coordinator sends is signed (core protocol/signed.ts); a learner checks each one
 * against the pinned fingerprint. Ed25519 is in every current engine (Chromium 137+, Firefox 129+, Safari 17+).
 */
import { sealSigned, signingInput, type CoordinatorPin } from '@tabswarm/core';

const ED25519 = { name: 'Ed25519' } as const;
/** base64url of a SHA-256: 43 characters. */
export const FINGERPRINT_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export interface CoordinatorSigner {
  readonly publicKey: Uint8Array;
  readonly fingerprint: string;
  /** The signed frame for an encoded message. */
  seal(frame: Uint8Array): Promise<Uint8Array>;
}

/** A fresh key pair; only the public key can ever leave it. */
export async function generateCoordinatorKey(): Promise<CryptoKeyPair> {
  return (await crypto.subtle.generateKey(ED25519, false, ['sign', 'verify'])) as CryptoKeyPair;
}

function base64url(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** SHA-256 of bytes in a plain ArrayBuffer (what frames, received or encoded, live in), without a copy. */
async function sha256(bytes: Uint8Array): Promise<Uint8Array> {
  if (!(bytes.buffer instanceof ArrayBuffer)) throw new TypeError('sha256: bytes in a SharedArrayBuffer');
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
}

/** The fingerprint of a raw Ed25519 public key: base64url(SHA-256(key)). */
export async function fingerprint(publicKey: Uint8Array): Promise<string> {
  return base64url(await sha256(publicKey));
}

export async function coordinatorSigner(pair: CryptoKeyPair): Promise<CoordinatorSigner> {
  const publicKey = new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey));
  const fp = await fingerprint(publicKey);
  return {
    publicKey, fingerprint: fp,
    async seal(frame) {
      const sig = new Uint8Array(await crypto.subtle.sign(ED25519, pair.privateKey, signingInput(frame, await sha256(frame))));
      return sealSigned(frame, publicKey, sig);
    },
  };
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Where a tab keeps the key it trusts for a run, so that a reload does not trust on first use again. */
export interface PinMemory {
  /** The fingerprint this tab trusted for the run on an earlier load; undefined: none (or unreadable). */
  readonly known: string | undefined;
  /** Called once per load, when the pinned key first signs a valid frame. */
  remember(fingerprint: string): void;
}

export interface LearnerPin extends CoordinatorPin {
  /** The fingerprint pinned (join URL, or an earlier load of this tab), or the first key's (trust on first use). */
  readonly fingerprint: string | undefined;
  /** What pinned it: the join URL's `#coord=`, a key this tab trusted on an earlier load, or the first frame. */
  readonly source: 'join URL' | 'earlier load' | 'first use';
}

/**
 * A learner's pin: the join URL's fingerprint; without one, the key this tab trusted for the run before a
 * reload (`memory`); without either, the first key that signs a valid frame (trust on first use, shown on
 * the page). A later key is refused for the life of the tab, across reloads, either way; a join URL's pin
 * wins over the remembered one (the operator's word, e.g. after the coordinator lost its key).
 */
export function pinCoordinator(urlFingerprint: string | undefined, memory?: PinMemory): LearnerPin {
  if (urlFingerprint !== undefined && !FINGERPRINT_PATTERN.test(urlFingerprint)) throw new RangeError(`coord=${JSON.stringify(urlFingerprint)}: want 43 base64url characters`);
  const known = memory?.known !== undefined && FINGERPRINT_PATTERN.test(memory.known) ? memory.known : undefined;
  let fp = urlFingerprint ?? known;
  const source = urlFingerprint !== undefined ? 'join URL' : known !== undefined ? 'earlier load' : 'first use';
  let trusted: { raw: Uint8Array; key: CryptoKey } | undefined;
  return {
    get fingerprint() { return fp; },
    source,
    digest: sha256,
    async trusts(publicKey) {
      if (trusted) return equal(trusted.raw, publicKey);
      // Frames are opened one at a time, so without a pin the first key whose signature checks is the one.
      return fp === undefined || (await fingerprint(publicKey)) === fp;
    },
    async verify(publicKey, data, signature) {
      const key = trusted && equal(trusted.raw, publicKey) ? trusted.key : await crypto.subtle.importKey('raw', Uint8Array.from(publicKey), ED25519, false, ['verify']);
      const good = await crypto.subtle.verify(ED25519, key, Uint8Array.from(signature), data);
      if (good && !trusted) {
        trusted = { raw: Uint8Array.from(publicKey), key };
        fp ??= await fingerprint(publicKey);
        memory?.remember(fp);
      }
      return good;
    },
  };
}
