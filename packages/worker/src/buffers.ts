/**
 * Checks of what crosses the worker boundary, and ownership of the buffers that do: done before the model
 * is touched, so a bad argument never leaves a half-applied write.
 */
import { validateFragment, type Fragment, type ParamLayout } from '@tabswarm/core';
import { TrainerError } from './errors';
import type { SampleOptions } from './model-api';

export const badArgument = (detail: string): TrainerError => new TrainerError('bad-argument', detail);

/** "40 bytes", or the type of whatever arrived instead of an ArrayBuffer. */
export function describeBytes(buf: unknown): string {
  return buf instanceof ArrayBuffer ? `${buf.byteLength} bytes` : `a ${Object.prototype.toString.call(buf).slice(8, -1)}`;
}

/** A buffer holding exactly `v`, safe to transfer: copies when `v` is a view into something larger. */
export function ownBuffer(v: Float32Array): ArrayBuffer {
  if (v.byteOffset === 0 && v.buffer instanceof ArrayBuffer && v.buffer.byteLength === v.byteLength) return v.buffer;
  return v.slice().buffer as ArrayBuffer;
}

/**
 * Rejects a fragment that does not fit the model's layout before the model sees it: every segment must
 * be whole rows of a named tensor at the layout's offsets, and the segments must tile [0, size).
 */
export function checkFragment(f: Fragment, layout: ParamLayout): void {
  const r = validateFragment(layout, f);
  if (!r.ok) throw badArgument(r.detail);
}

/** The text demo's request, bounded: budgetMs ≤ 60 s, which the client adds to the call's deadline (client.ts). */
export function checkSampleOptions(o: SampleOptions): void {
  const ok = typeof o?.prompt === 'string' && o.prompt.length <= 1024 && Number.isInteger(o.length) && o.length >= 0 && o.length <= 4096
    && o.temperature > 0 && Number.isFinite(o.temperature) && Number.isInteger(o.seed) && o.budgetMs >= 0 && o.budgetMs <= 60_000;
  if (!ok) throw badArgument(`sample ${JSON.stringify(o)}: want a prompt of <= 1024 chars, length in [0, 4096], temperature > 0, an integer seed, budgetMs in [0, 60000]`);
}

/** The digits demo's drawing: one 28 × 28 image of float32 pixels. */
export function checkPixels(pixels: ArrayBuffer): void {
  if (!(pixels instanceof ArrayBuffer) || pixels.byteLength !== 4 * 784) throw badArgument(`predict wants 784 float32 pixels, got ${describeBytes(pixels)}`);
}
