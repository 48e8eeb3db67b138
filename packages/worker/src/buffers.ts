/**
 * Checks and ownership of the buffers that cross the worker boundary: done before the model is touched,
 * so a bad argument never leaves a half-applied write.
 */
import { validateFragment, type Fragment, type ParamLayout } from '@tabswarm/core';
import { TrainerError } from './errors';

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
