/**
 * Codecs for outer updates (deltas θ − anchor, docs/method.md §6), registered by the numeric id that travels in
 * every encoded message's header (see format.ts).
 */
import { ConfigError, fail, ok, type Result } from '../result';
import { fp16 } from './fp16';
import { fp32 } from './fp32';
import { int1 } from './sign';
import { int2, int4, int8 } from './blockwise';

export { DEFAULT_BLOCK } from './format';

/** fp32 = 0, fp16 = 1, int8 = 2, int4 = 3, int2 = 4, int1 = 5. */
export type CodecId = 0 | 1 | 2 | 3 | 4 | 5;

export interface Codec {
  id: CodecId;
  name: string;
  /** Bits per element in the packed codes (block scales come on top). */
  bits: number;
  /** Throws ConfigError on non-finite input or an illegal block size: both are bugs on our side. */
  encode(values: Float32Array, blockSize?: number): Uint8Array;
  /** Never throws: corrupt or hostile bytes give fail(reason). */
  decode(bytes: Uint8Array, expectedLength: number): Result<Float32Array>;
  /** max abs error per element guaranteed for this input */
  errorBound(values: Float32Array, blockSize?: number): number;
}

const REGISTRY: readonly Codec[] = [fp32, fp16, int8, int4, int2, int1];

export function getCodec(id: number): Result<Codec> {
  const c = Number.isInteger(id) ? REGISTRY[id] : undefined;
  return c === undefined ? fail('bad-codec', `unknown codec id ${id}`) : ok(c);
}

export function codecByName(name: string): Codec {
  const c = REGISTRY.find((x) => x.name === name);
  if (c === undefined) throw new ConfigError(`unknown codec ${name}; known: ${REGISTRY.map((x) => x.name).join(', ')}`);
  return c;
}

/** Decodes a message whose codec is named by its own header (byte 0); the caller still fixes the length. */
export function decodeAny(bytes: Uint8Array, expectedLength: number): Result<{ codec: Codec; values: Float32Array }> {
  if (bytes.length < 1) return fail('truncated', 'empty codec message');
  const c = getCodec(bytes[0] ?? -1);
  if (!c.ok) return c;
  const v = c.value.decode(bytes, expectedLength);
  return v.ok ? ok({ codec: c.value, values: v.value }) : v;
}
