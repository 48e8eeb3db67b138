import { fail, ok, type Result } from '../result';
import type { MergeLogEntry } from './events';

/**
 * The merge log as NDJSON: one JSON object per line, payloads in base64. A downloaded log plus the run's
 * θ₀ (first line, `{"theta0": …}`) replays the parameters bit for bit (replay.ts).
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

export function theta0Line(theta0: Float32Array): string {
  return JSON.stringify({ theta0: toBase64(new Uint8Array(theta0.buffer, theta0.byteOffset, theta0.byteLength)) });
}

/** Parse a downloaded log: θ₀ then the entries, checked for shape (not for meaning: replay does that). */
export function parseLog(text: string): Result<{ theta0: Float32Array; entries: MergeLogEntry[] }> {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  let theta0: Float32Array | undefined;
  const entries: MergeLogEntry[] = [];
  for (const [i, line] of lines.entries()) {
    let o: unknown;
    try { o = JSON.parse(line); } catch { return fail('bad-field', `line ${i + 1} is not JSON`); }
    if (i === 0) {
      const b = typeof (o as { theta0?: unknown }).theta0 === 'string' ? fromBase64((o as { theta0: string }).theta0) : null;
      if (!b || b.length % 4) return fail('bad-field', 'line 1 must hold theta0 as base64 fp32');
      theta0 = new Float32Array(b.buffer, b.byteOffset, b.length / 4);
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
  if (!theta0) return fail('truncated', 'empty log');
  return ok({ theta0, entries });
}
