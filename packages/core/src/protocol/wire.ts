/**
 * Bounds-checked little-endian reader and writer for the frame format in encode.ts.
 *
 * The Reader never throws: the first problem (truncation, an over-limit length, a non-zero padding
 * byte, an invalid enum byte) is recorded in `failure` and every later read returns a harmless
 * default, so a decoder can read a whole message straight through and check `failure` once.
 * The Writer runs twice over the same message: once with no buffer to measure, once to write.
 */
import { ConfigError } from '../result';
import type { Reason } from '../result';
import { f32ToHalfBits, halfBitsToF32 } from './half';

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const EMPTY_F32 = new Float32Array(0);

export interface Failure {
  reason: Reason;
  detail: string;
}

export class Reader {
  pos: number;
  failure: Failure | null = null;
  private readonly view: DataView;

  constructor(
    private readonly bytes: Uint8Array,
    start: number,
  ) {
    this.pos = start;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Record a failure; only the first one sticks. */
  fail(reason: Reason, detail: string): void {
    if (this.failure === null) this.failure = { reason, detail };
  }

  private need(n: number, what: string): boolean {
    if (this.failure !== null) return false;
    const have = this.bytes.length - this.pos;
    if (n > have) {
      this.fail('truncated', `${what}: needs ${n} bytes at offset ${this.pos}, ${have} left`);
      return false;
    }
    return true;
  }

  u8(what: string): number {
    if (!this.need(1, what)) return 0;
    return this.bytes[this.pos++] ?? 0;
  }

  /** A u8 that must be 0 or 1. */
  flag(what: string): boolean {
    const v = this.u8(what);
    if (v > 1) this.fail('bad-field', `${what}: ${v}, want 0 or 1`);
    return v === 1;
  }

  u32(what: string): number {
    if (!this.need(4, what)) return 0;
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  f64(what: string): number {
    if (!this.need(8, what)) return 0;
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** u8 length + that many bytes, one char per byte (charset is checked by the validator). */
  str(what: string): string {
    const n = this.u8(what);
    if (!this.need(n, what)) return '';
    let s = '';
    for (let i = 0; i < n; i++) s += String.fromCharCode(this.bytes[this.pos + i] ?? 0);
    this.pos += n;
    return s;
  }

  /** u32 length prefix, refused as `oversized` above `limit` before anything is allocated. */
  private length(what: string, limit: number, elemBytes: number): number {
    const n = this.u32(`${what} length`);
    if (this.failure !== null) return 0;
    if (n > limit) {
      this.fail('oversized', `${what}: length ${n} above limit ${limit}`);
      return 0;
    }
    return this.need(n * elemBytes, what) ? n : 0;
  }

  u32Array(what: string, limit: number): number[] {
    const n = this.length(what, limit, 4);
    const out = new Array<number>(n);
    for (let i = 0; i < n; i++) out[i] = this.view.getUint32(this.pos + 4 * i, true);
    this.pos += 4 * n;
    return out;
  }

  f64Array(what: string, limit: number): number[] {
    const n = this.length(what, limit, 8);
    const out = new Array<number>(n);
    for (let i = 0; i < n; i++) out[i] = this.view.getFloat64(this.pos + 8 * i, true);
    this.pos += 8 * n;
    return out;
  }

  bytesArray(what: string, limit: number): Uint8Array {
    const n = this.length(what, limit, 1);
    const out = this.bytes.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** Zero padding up to the next multiple of 4 (counted from the start of the frame). */
  align4(what: string): void {
    while (this.failure === null && this.pos % 4 !== 0) {
      if (this.u8(`${what} padding`) !== 0) this.fail('bad-field', `${what}: non-zero padding byte at offset ${this.pos - 1}`);
    }
  }

  /** u32 length, zero padding to 4, fp32 values. Returns a fresh copy that owns its buffer. */
  f32Array(what: string, limit: number): Float32Array {
    const n = this.u32(`${what} length`);
    if (this.failure !== null) return EMPTY_F32;
    if (n > limit) {
      this.fail('oversized', `${what}: length ${n} above limit ${limit}`);
      return EMPTY_F32;
    }
    this.align4(what);
    if (!this.need(4 * n, what)) return EMPTY_F32;
    const abs = this.bytes.byteOffset + this.pos;
    let out: Float32Array;
    if (LITTLE_ENDIAN && abs % 4 === 0) {
      out = new Float32Array(this.bytes.buffer, abs, n).slice();
    } else if (LITTLE_ENDIAN) {
      out = new Float32Array(n);
      new Uint8Array(out.buffer).set(this.bytes.subarray(this.pos, this.pos + 4 * n));
    } else {
      out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = this.view.getFloat32(this.pos + 4 * i, true);
    }
    this.pos += 4 * n;
    return out;
  }

  /** u32 length, fp16 values (no padding), widened to fp32. */
  f16Array(what: string, limit: number): Float32Array {
    const n = this.length(what, limit, 2);
    if (this.failure !== null) return EMPTY_F32;
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = halfBitsToF32(this.view.getUint16(this.pos + 2 * i, true));
    this.pos += 2 * n;
    return out;
  }
}

export class Writer {
  pos = 0;
  private readonly view: DataView | null;

  /** With `out` null the writer only measures. */
  constructor(private readonly out: Uint8Array | null) {
    this.view = out === null ? null : new DataView(out.buffer, out.byteOffset, out.byteLength);
  }

  u8(v: number): void {
    this.view?.setUint8(this.pos, v);
    this.pos += 1;
  }

  u32(v: number): void {
    this.view?.setUint32(this.pos, v, true);
    this.pos += 4;
  }

  f64(v: number): void {
    this.view?.setFloat64(this.pos, v, true);
    this.pos += 8;
  }

  str(s: string): void {
    this.u8(s.length);
    if (this.out !== null) for (let i = 0; i < s.length; i++) this.out[this.pos + i] = s.charCodeAt(i) & 0xff;
    this.pos += s.length;
  }

  u32Array(a: readonly number[]): void {
    this.u32(a.length);
    for (const v of a) this.u32(v);
  }

  f64Array(a: readonly number[]): void {
    this.u32(a.length);
    for (const v of a) this.f64(v);
  }

  bytesArray(a: Uint8Array): void {
    this.u32(a.length);
    this.out?.set(a, this.pos);
    this.pos += a.length;
  }

  align4(): void {
    while (this.pos % 4 !== 0) this.u8(0);
  }

  f32Array(a: Float32Array): void {
    this.u32(a.length);
    this.align4();
    if (this.out !== null && this.view !== null) {
      if (LITTLE_ENDIAN) this.out.set(new Uint8Array(a.buffer, a.byteOffset, 4 * a.length), this.pos);
      else for (let i = 0; i < a.length; i++) this.view.setFloat32(this.pos + 4 * i, a[i] ?? 0, true);
    }
    this.pos += 4 * a.length;
  }

  f16Array(a: Float32Array): void {
    this.u32(a.length);
    if (this.view !== null) {
      for (let i = 0; i < a.length; i++) {
        const v = a[i] ?? 0;
        const h = f32ToHalfBits(v);
        if ((h & 0x7c00) === 0x7c00) throw new ConfigError(`fp16 cannot hold value ${v} at index ${i}: use fp32`);
        this.view.setUint16(this.pos + 2 * i, h, true);
      }
    }
    this.pos += 2 * a.length;
  }
}
