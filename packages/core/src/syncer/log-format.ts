import type { OuterState } from '../outer';
import { fail, ok, type Result } from '../result';
import type { MergeLogEntry } from './events';

/**
 * The merge log as NDJSON: one JSON object per line, payloads in base64. A downloaded log plus the state
 * it starts from (first line) replays the parameters bit for bit (replay.ts). The first line is
 * `{"theta0": …}` for a run started from θ₀; a run rebased on a model file or a saved state starts from
 * that state, so its first line also holds the fragment versions and outer-optimizer state there
 * (`"versions"`, `"outer"`): without them the first merge would meet zero momentum and version 0.
 */
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_INDEX = new Map([...B64].map((c, i) => [c, i]));

export function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    s += B64[(n >> 18) & 63]! + B64[(n >> 12) & 63]! + (i + 1 < bytes.length ? B64[(n >> 6) & 63]! : '=') + (i + 2 < bytes.length ? B64[n & 63]! : '=');
  }
  return s;
}

export function fromBase64(s: string): Uint8Array | null {
  if (s.length % 4) return null;
  const pad = s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0;
  const out = new Uint8Array((s.length / 4) * 3 - pad);
  for (let i = 0, o = 0; i < s.length; i += 4) {
    let n = 0;
    for (let j = 0; j < 4; j++) {
      const c = s[i + j]!;
      const v = c === '=' && i + j >= s.length - pad ? 0 : B64_INDEX.get(c);
      if (v === undefined) return null;
      n = (n << 6) | v;
    }
    for (let j = 0; j < 3 && o < out.length; j++) out[o++] = (n >> (16 - 8 * j)) & 255;
  }
  return out;
}

export function logLine(e: MergeLogEntry): string {
  return JSON.stringify({ ...e, contributors: e.contributors.map((k) => ({ ...k, payload: toBase64(k.payload) })) });
}

/** The state a rebased log starts from, beside its parameters: each fragment's version and outer state. */
export interface LogFrom {
  versions: number[];
  outer: OuterState[];
}

const f32b64 = (a: Float32Array): string => toBase64(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));

export function theta0Line(theta0: Float32Array, from?: LogFrom): string {
  if (!from) return JSON.stringify({ theta0: f32b64(theta0) });
  const outer = from.outer.map((o) => ({ buf: f32b64(o.buf), acc: o.acc && f32b64(o.acc), count: o.count }));
  return JSON.stringify({ theta0: f32b64(theta0), versions: from.versions, outer });
}

function f32(s: unknown): Float32Array | null {
  const b = typeof s === 'string' ? fromBase64(s) : null; // a buffer of its own, at offset 0
  return b && b.length % 4 === 0 ? new Float32Array(b.buffer, 0, b.length / 4) : null;
}

/** Line 1: θ₀, and for a rebased log its versions and outer state (shapes are replay's to check). */
function parseHead(o: unknown): Result<{ theta0: Float32Array; from?: LogFrom }> {
  const h = o as { theta0?: unknown; versions?: unknown; outer?: unknown };
  const theta0 = f32(h.theta0);
  if (!theta0) return fail('bad-field', 'line 1 must hold theta0 as base64 fp32');
  if (h.versions === undefined && h.outer === undefined) return ok({ theta0 });
  if (!Array.isArray(h.versions) || !h.versions.every((v) => Number.isSafeInteger(v) && v >= 0) || !Array.isArray(h.outer) || h.outer.length !== h.versions.length) {
    return fail('bad-field', 'line 1: versions must be integers >= 0, one outer state each');
  }
  const outer: OuterState[] = [];
  for (const [p, x] of (h.outer as Array<{ buf?: unknown; acc?: unknown; count?: unknown }>).entries()) {
    const buf = f32(x?.buf), acc = x?.acc === null ? null : f32(x?.acc);
    if (!buf || (x.acc !== null && !acc) || !Number.isSafeInteger(x.count) || (x.count as number) < 0) {
      return fail('bad-field', `line 1: outer state ${p} must hold buf (and acc or null) as base64 fp32 and a count >= 0`);
    }
    outer.push({ buf, acc, count: x.count as number });
  }
  return ok({ theta0, from: { versions: h.versions as number[], outer } });
}

/** Parse a downloaded log: its start, then the entries, checked for shape (not for meaning: replay does that). */
export function parseLog(text: string): Result<{ theta0: Float32Array; from?: LogFrom; entries: MergeLogEntry[] }> {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  let head: { theta0: Float32Array; from?: LogFrom } | undefined;
  const entries: MergeLogEntry[] = [];
  for (const [i, line] of lines.entries()) {
    let o: unknown;
    try { o = JSON.parse(line); } catch { return fail('bad-field', `line ${i + 1} is not JSON`); }
    if (i === 0) {
      const h = parseHead(o);
      if (!h.ok) return h;
      head = h.value;
      continue;
    }
    const e = o as MergeLogEntry & { contributors: Array<{ payload: unknown }> };
    if (!Array.isArray(e.contributors) || !Number.isInteger(e.fragment) || !Number.isInteger(e.version)) return fail('bad-field', `line ${i + 1} is not a merge-log entry`);
    const contributors = [];
    for (const k of e.contributors) {
      const payload = typeof k.payload === 'string' ? fromBase64(k.payload) : null;
      if (!payload) return fail('bad-field', `line ${i + 1}: payload is not base64`);
      contributors.push({ ...(k as MergeLogEntry['contributors'][number]), payload });
    }
    entries.push({ ...e, contributors });
  }
  if (!head) return fail('truncated', 'empty log');
  return ok({ ...head, entries });
}
