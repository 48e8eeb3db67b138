/**
 * The self-describing envelope shared by every codec (all integers little-endian):
 *
 *   offset 0  u8   codec id
 *   offset 1  u8×3 reserved, must be 0 (room for a format version without a new header size)
 *   offset 4  u32  block size in elements (0 for fp32 / fp16, which have no blocks)
 *   offset 8  u32  element count
 *   offset 12 f32  one scale per block, ceil(count / block) of them (blockwise codecs only)
 *   then           packed codes
 *
 * Decoders check the header against the caller's expectations before touching the payload, so a
 * hostile message is refused with a reason code and never throws.
 */
import { ConfigError, fail, ok, type Result } from '../result';

export const HEADER_BYTES = 12;
/** Elements per scale: 128 is the paper-adjacent default (docs/method.md §6: blocks of 64–256). */
export const DEFAULT_BLOCK = 128;
export const MIN_BLOCK = 8;
export const MAX_BLOCK = 65536;
/** Largest finite float32; anything beyond it (or NaN) is rejected. */
export const F32_MAX = 3.4028234663852886e38;

export interface Header { blockSize: number; count: number }

/** Encoder-side check: a bad block size is our own bug, not hostile input. */
export function checkBlockSize(blockSize: number): void {
  if (!Number.isInteger(blockSize) || blockSize < MIN_BLOCK || blockSize > MAX_BLOCK) {
    throw new ConfigError(`codec: block size ${blockSize}, want an integer in [${MIN_BLOCK}, ${MAX_BLOCK}]`);
  }
}

export function writeHeader(out: Uint8Array, id: number, blockSize: number, count: number): void {
  if (count > 0xffffffff) throw new ConfigError(`codec: ${count} elements do not fit the u32 count`);
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  dv.setUint8(0, id);
  dv.setUint32(4, blockSize, true);
  dv.setUint32(8, count, true);
}

/**
 * Validates the envelope of `bytes` for codec `id`: header present, id and reserved bytes right,
 * block size legal (`blocked` false → must be 0), count equal to the caller's expectation, and total
 * length exactly what `payloadBytes(header)` says.
 */
export function readHeader(
  bytes: Uint8Array, id: number, expectedLength: number, blocked: boolean,
  payloadBytes: (h: Header) => number,
): Result<Header> {
  if (bytes.length < HEADER_BYTES) return fail('truncated', `codec header needs ${HEADER_BYTES} bytes, got ${bytes.length}`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const gotId = dv.getUint8(0);
  if (gotId !== id) return fail('bad-codec', `codec id ${gotId}, expected ${id}`);
  if (dv.getUint8(1) !== 0 || dv.getUint8(2) !== 0 || dv.getUint8(3) !== 0) return fail('bad-field', 'codec reserved bytes not zero');
  const blockSize = dv.getUint32(4, true);
  if (blocked ? blockSize < MIN_BLOCK || blockSize > MAX_BLOCK : blockSize !== 0) {
    return fail('bad-codec', `block size ${blockSize} illegal for codec ${id}`);
  }
  const count = dv.getUint32(8, true);
  if (count !== expectedLength) return fail('length-mismatch', `codec count ${count}, expected ${expectedLength}`);
  const want = HEADER_BYTES + payloadBytes({ blockSize, count });
  if (bytes.length < want) return fail('truncated', `codec payload needs ${want} bytes, got ${bytes.length}`);
  if (bytes.length > want) return fail('trailing-bytes', `codec payload is ${want} bytes, got ${bytes.length}`);
  return ok({ blockSize, count });
}

/** Throws ConfigError on NaN / ±Infinity: encoders only see our own numbers, so this is a bug upstream. */
export function nonFiniteInput(index: number, value: number): never {
  throw new ConfigError(`codec: non-finite input ${value} at ${index}`);
}
