/**
 * The coordinator's signature on every frame it sends (docs/security.md §2). A learner pins the run's
 * coordinator key (its fingerprint is in the join URL) and refuses any frame that key did not sign.
 *
 * A signed frame wraps one complete message frame (encode.ts) and carries the signer's public key, so
 * the first frame a learner receives (a pull may overtake the snapshot) already lets it check the pin:
 *   offset 0   'T' 'S'        magic
 *          2   version u8     PROTOCOL_VERSION
 *          3   0xA5           SIGNED_TYPE, outside TYPE_CODES: a bare message frame is never mistaken for one
 *          4   u8 32, then the Ed25519 public key (32 bytes)
 *         37   u8 64, then the signature (64 bytes)
 *        102   the inner message frame
 * The signature covers the header and a hash of the payload (signingInput): SIGNING_CONTEXT ‖ the signed
 * frame's first 4 bytes ‖ the inner frame's header and byte length ‖ SHA-256 of the inner frame. Signing
 * 104 bytes instead of the frame keeps a 7 MB snapshot's signature at one SHA-256 pass (Ed25519 would hash
 * its whole input twice, with SHA-512): `npm run bench`, packages/net/bench/identity.ts.
 *
 * Core does no cryptography: the interpreter injects `CoordinatorPin` (WebCrypto in the pages).
 */
import { fail, ok } from '../result';
import type { Result } from '../result';
import { decodeMessage } from './decode';
import { DEFAULT_LIMITS } from './limits';
import type { Limits } from './limits';
import { HEADER_BYTES, MAGIC0, MAGIC1, PROTOCOL_VERSION } from './messages';
import type { Message } from './messages';

export const SIGNED_TYPE = 0xa5;
export const PUBLIC_KEY_BYTES = 32;
export const SIGNATURE_BYTES = 64;
/** SHA-256. */
export const DIGEST_BYTES = 32;
/** Bytes a signed frame adds to its inner frame: header, two length bytes, key and signature. */
export const SIGNED_OVERHEAD = HEADER_BYTES + 1 + PUBLIC_KEY_BYTES + 1 + SIGNATURE_BYTES;
/** Domain separation: a signature over a coordinator frame is never valid for anything else. */
const SIGNING_CONTEXT = Array.from('tabswarm/coordinator-frame\0', (c) => c.charCodeAt(0));
const KEY_AT = HEADER_BYTES + 1;
const SIG_AT = KEY_AT + PUBLIC_KEY_BYTES + 1;

export interface SignedFrame {
  publicKey: Uint8Array;
  signature: Uint8Array;
  /** The inner message frame, as sent (not yet decoded). */
  frame: Uint8Array;
}

/** What the coordinator signs for `frame` (an encoded message) whose SHA-256 is `digest`. */
export function signingInput(frame: Uint8Array, digest: Uint8Array): Uint8Array<ArrayBuffer> {
  if (digest.length !== DIGEST_BYTES) throw new RangeError(`signingInput: a ${DIGEST_BYTES}-byte SHA-256, got ${digest.length} bytes`);
  const c = SIGNING_CONTEXT.length;
  const out = new Uint8Array(c + 2 * HEADER_BYTES + 4 + DIGEST_BYTES);
  out.set(SIGNING_CONTEXT, 0);
  out.set([MAGIC0, MAGIC1, PROTOCOL_VERSION, SIGNED_TYPE], c);
  out.set(frame.subarray(0, HEADER_BYTES), c + HEADER_BYTES);
  new DataView(out.buffer).setUint32(c + 2 * HEADER_BYTES, frame.length, true);
  out.set(digest, c + 2 * HEADER_BYTES + 4);
  return out;
}

/** The signed frame for `frame`, its signer's key and the signature over signingInput(frame, SHA-256(frame)). */
export function sealSigned(frame: Uint8Array, publicKey: Uint8Array, signature: Uint8Array): Uint8Array {
  if (publicKey.length !== PUBLIC_KEY_BYTES || signature.length !== SIGNATURE_BYTES) {
    throw new RangeError(`sealSigned: a ${PUBLIC_KEY_BYTES}-byte key and a ${SIGNATURE_BYTES}-byte signature, got ${publicKey.length} and ${signature.length}`);
  }
  const out = new Uint8Array(SIGNED_OVERHEAD + frame.length);
  out.set([MAGIC0, MAGIC1, PROTOCOL_VERSION, SIGNED_TYPE, PUBLIC_KEY_BYTES], 0);
  out.set(publicKey, KEY_AT);
  out[SIG_AT - 1] = SIGNATURE_BYTES;
  out.set(signature, SIG_AT);
  out.set(frame, SIGNED_OVERHEAD);
  return out;
}

/** Splits a signed frame; checks its structure only (no signature, no inner decoding). */
export function parseSigned(bytes: Uint8Array, limits: Limits = DEFAULT_LIMITS): Result<SignedFrame> {
  if (bytes.length > limits.maxBytes + SIGNED_OVERHEAD) return fail('oversized', `signed frame of ${bytes.length} bytes above limit ${limits.maxBytes + SIGNED_OVERHEAD}`);
  if (bytes.length < HEADER_BYTES) return fail('truncated', `${bytes.length} bytes, a header needs ${HEADER_BYTES}`);
  if (bytes[0] !== MAGIC0 || bytes[1] !== MAGIC1) return fail('bad-magic', 'not a tabswarm frame');
  if (bytes[2] !== PROTOCOL_VERSION) return fail('bad-version', `version ${bytes[2]}, this learner speaks ${PROTOCOL_VERSION}`);
  if (bytes[3] !== SIGNED_TYPE) return fail('unsigned', `a bare frame of type ${bytes[3]}: the coordinator signs everything it sends`);
  if (bytes.length < SIGNED_OVERHEAD + HEADER_BYTES) return fail('truncated', `signed frame of ${bytes.length} bytes, needs at least ${SIGNED_OVERHEAD + HEADER_BYTES}`);
  if (bytes[KEY_AT - 1] !== PUBLIC_KEY_BYTES || bytes[SIG_AT - 1] !== SIGNATURE_BYTES) return fail('bad-field', 'signed frame: key or signature length is not 32/64');
  return ok({ publicKey: bytes.slice(KEY_AT, KEY_AT + PUBLIC_KEY_BYTES), signature: bytes.slice(SIG_AT, SIG_AT + SIGNATURE_BYTES), frame: bytes.subarray(SIGNED_OVERHEAD) });
}

/** The learner's trust in one coordinator key, with the cryptography injected. */
export interface CoordinatorPin {
  /** True when `publicKey` is the run's coordinator key (its fingerprint is the join URL's). */
  trusts(publicKey: Uint8Array): Promise<boolean>;
  /** SHA-256 of `bytes`. */
  digest(bytes: Uint8Array): Promise<Uint8Array>;
  /** True when `signature` is `publicKey`'s Ed25519 signature of `data`. */
  verify(publicKey: Uint8Array, data: Uint8Array<ArrayBuffer>, signature: Uint8Array): Promise<boolean>;
}

/**
 * Open a frame from the coordinator: structure, then the pin ('wrong-key'), then the signature
 * ('bad-signature'), then the inner message as decodeMessage does. Nothing is decoded from a frame the
 * pinned key did not sign.
 */
export async function openSigned(bytes: Uint8Array, pin: CoordinatorPin, limits: Limits = DEFAULT_LIMITS): Promise<Result<Message>> {
  const s = parseSigned(bytes, limits);
  if (!s.ok) return s;
  const { publicKey, signature, frame } = s.value;
  if (!(await pin.trusts(publicKey))) return fail('wrong-key', 'signed by a key other than the pinned coordinator key');
  if (!(await pin.verify(publicKey, signingInput(frame, await pin.digest(frame)), signature))) return fail('bad-signature', 'the signature does not match the frame');
  return decodeMessage(frame, limits);
}
