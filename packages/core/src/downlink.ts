/**
 * The quantised downlink (docs/method.md §6): a commit travels to a learner that already holds the
 * fragment's previous version as the outer update Θ_v − Θ_{v−1}, blockwise int8 or int4, instead of the
 * fragment's fp32 values. The syncer adopts Θ'_v = Θ_{v−1} + decode(encode(Θ_v − Θ_{v−1})) as the committed
 * value, and the learner computes the same sum from the same bytes with `applyUpdate`, so both hold the
 * same bits: the quantisation error is not an error between copies, it is part of the outer step.
 */
import { getCodec, int4, int8, MAX_BLOCK, MIN_BLOCK, type Codec } from './codecs';
import { fail, ok, type Result } from './result';

/** fp32 / fp16: every recipient gets the fragment's values. int8 / int4: the quantised outer update. */
export type Downlink = 'fp32' | 'fp16' | 'int8' | 'int4';
export const DOWNLINKS: readonly Downlink[] = ['fp32', 'fp16', 'int8', 'int4'];

/** How a commit's value was quantised: logged with the commit, so a replay does not depend on today's config. */
export interface Quantization {
  codec: number;
  blockSize: number;
}

/** The quantisation a downlink applies to every commit, or null for a full-values one. */
export function quantizationOf(d: Downlink, blockSize: number): Quantization | null {
  const codec = d === 'int8' ? int8 : d === 'int4' ? int4 : null;
  return codec && { codec: codec.id, blockSize };
}

/** Wire precision of a full copy: a quantised downlink sends full copies (learners not at v−1) in fp32. */
export function fullPrecision(d: Downlink): 'fp32' | 'fp16' {
  return d === 'fp16' ? 'fp16' : 'fp32';
}

/**
 * Θ_base + decode(payload), elementwise in fp32 (ascending index): the one function both sides run.
 * Never throws: a payload that does not decode to base.length values, or a sum that overflows fp32,
 * is refused with its reason.
 */
export function applyUpdate(base: Float32Array, codecId: number, payload: Uint8Array): Result<Float32Array> {
  const codec = getCodec(codecId);
  if (!codec.ok) return codec;
  const d = codec.value.decode(payload, base.length);
  if (!d.ok) return d;
  const out = new Float32Array(base.length);
  for (let i = 0; i < out.length; i++) {
    out[i] = base[i]! + d.value[i]!;
    // Read back: the sum is a double, and only its fp32 rounding can overflow to ±Infinity.
    if (out[i]! - out[i]! !== 0) return fail('non-finite', `update overflows at ${i}: ${base[i]} + ${d.value[i]}`);
  }
  return ok(out);
}

export interface QuantizedUpdate {
  codec: number;
  payload: Uint8Array;
  /** Θ'_v = prev + decode(payload): the value to commit in place of `next`. */
  adopted: Float32Array;
}

/**
 * Quantise next − prev as `q` says and return the bytes and the adopted value. Never throws: an unknown
 * codec or an illegal block size (a corrupt log) is 'bad-codec'; a non-finite update (a model that left
 * fp32's range) is 'non-finite'.
 */
export function quantizeUpdate(prev: Float32Array, next: Float32Array, q: Quantization): Result<QuantizedUpdate> {
  const codec = quantizationCodec(q);
  if (!codec.ok) return codec;
  if (prev.length !== next.length) return fail('length-mismatch', `update of ${next.length} values against a base of ${prev.length}`);
  const d = new Float32Array(next.length);
  for (let i = 0; i < d.length; i++) {
    d[i] = next[i]! - prev[i]!;
    if (d[i]! - d[i]! !== 0) return fail('non-finite', `outer update ${d[i]} at ${i}`);
  }
  const payload = codec.value.encode(d, q.blockSize);
  const adopted = applyUpdate(prev, q.codec, payload);
  return adopted.ok ? ok({ codec: q.codec, payload, adopted: adopted.value }) : adopted;
}

function quantizationCodec(q: Quantization): Result<Codec> {
  const codec = getCodec(q.codec);
  if (!codec.ok) return codec;
  if (!Number.isInteger(q.blockSize) || q.blockSize < MIN_BLOCK || q.blockSize > MAX_BLOCK) return fail('bad-codec', `block size ${q.blockSize} outside [${MIN_BLOCK}, ${MAX_BLOCK}]`);
  return codec;
}
