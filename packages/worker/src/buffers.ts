/**
 * Checks and ownership of the buffers that cross the worker boundary: done before the model is touched,
 * so a bad argument never leaves a half-applied write.
 */
import type { Fragment } from '@tabswarm/core';
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

/** Rejects a malformed fragment before the model sees it: segments must tile [0, size) inside the parameters. */
export function checkFragment(f: Fragment, numParams: number): void {
  if (!f || !Number.isInteger(f.size) || f.size < 1 || !Array.isArray(f.segments)) throw badArgument('fragment is malformed');
  let covered = 0;
  for (const s of f.segments) {
    const fits = Number.isInteger(s.srcOffset) && Number.isInteger(s.dstOffset) && Number.isInteger(s.size) && s.size >= 1 && s.srcOffset >= 0 && s.dstOffset >= 0;
    if (!fits || s.srcOffset + s.size > numParams || s.dstOffset + s.size > f.size) throw badArgument(`fragment ${f.index}: segment ${s.name} is outside the parameters or the fragment`);
    covered += s.size;
  }
  if (covered !== f.size) throw badArgument(`fragment ${f.index}: segments cover ${covered} of ${f.size} values`);
}
