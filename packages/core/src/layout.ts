/**
 * The parameter layout: how a model's named tensors sit in one flat Float32Array, and a hash of it.
 *
 * Every tab must agree on names, shapes, kinds and order, or a fragment index would address different
 * numbers on different tabs (docs/method.md §2). The hash lets the syncer refuse a learner that built a
 * different model ('layout-mismatch') before any of its bytes are merged.
 */
import { ConfigError, fail, ok, type Result } from './result';

/** 'embedding' tensors (token/position embeddings, unembedding) are merged by direct averaging, not RDA
 * (docs/method.md §5). */
export type TensorKind = 'dense' | 'embedding';

export interface TensorSpec {
  name: string;
  shape: readonly number[];
  kind: TensorKind;
  /** Block index used by the 'layer' fragment strategy (e.g. transformer block); absent for stem/head tensors. */
  layer?: number;
}

export interface TensorEntry extends TensorSpec {
  /** Number of elements (product of the shape). */
  size: number;
  /** Element offset of the first value in the flat Float32Array. */
  offset: number;
}

export interface ParamLayout {
  tensors: readonly TensorEntry[];
  /** Total number of elements (length of the flat parameter vector). */
  totalSize: number;
  /** 16 hex digits: FNV-1a 64 over the canonical description (see layoutHash). */
  hash: string;
}

const U32_MAX = 0xffffffff;

/** Lays the tensors out back to back in the given order. Throws ConfigError on a malformed spec. */
export function makeLayout(specs: readonly TensorSpec[]): ParamLayout {
  if (specs.length === 0) throw new ConfigError('layout: no tensors');
  const seen = new Set<string>();
  const tensors: TensorEntry[] = [];
  let offset = 0;
  for (const s of specs) {
    if (typeof s.name !== 'string' || s.name.length === 0) throw new ConfigError('layout: empty tensor name');
    if (seen.has(s.name)) throw new ConfigError(`layout: duplicate tensor name ${s.name}`);
    seen.add(s.name);
    if (s.kind !== 'dense' && s.kind !== 'embedding') throw new ConfigError(`layout: ${s.name} has unknown kind ${String(s.kind)}`);
    if (s.layer !== undefined && !(Number.isInteger(s.layer) && s.layer >= 0 && s.layer < U32_MAX)) {
      throw new ConfigError(`layout: ${s.name} has layer ${s.layer}, want an integer >= 0`);
    }
    if (s.shape.length === 0) throw new ConfigError(`layout: ${s.name} has an empty shape`);
    let size = 1;
    for (const d of s.shape) {
      if (!Number.isInteger(d) || d <= 0 || d > U32_MAX) throw new ConfigError(`layout: ${s.name} has dim ${d}, want an integer in [1, 2^32)`);
      size *= d;
    }
    if (!Number.isSafeInteger(offset + size)) throw new ConfigError(`layout: ${s.name} overflows the parameter count`);
    const entry: TensorEntry = { name: s.name, shape: Object.freeze([...s.shape]), kind: s.kind, size, offset };
    if (s.layer !== undefined) entry.layer = s.layer;
    tensors.push(Object.freeze(entry));
    offset += size;
  }
  return Object.freeze({ tensors: Object.freeze(tensors), totalSize: offset, hash: layoutHash(tensors) });
}

/** ok(true) when a learner's reported layout hash equals the run's; otherwise a 'layout-mismatch' refusal. */
export function layoutMismatch(expected: ParamLayout, got: string): Result<true> {
  if (got === expected.hash) return ok(true);
  return fail('layout-mismatch', `layout hash ${JSON.stringify(String(got).slice(0, 32))} differs from the run's ${expected.hash}`);
}

// --- hash -------------------------------------------------------------------------------------------

const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;

/**
 * FNV-1a 64 over a canonical byte stream, so the same layout hashes the same on every JS engine:
 *   "tabswarm-layout-v1", tensor count, then per tensor in order:
 *   name (u32 length + UTF-16 code units as u16 LE), kind (u8: 0 dense, 1 embedding),
 *   layer + 1 (u32; 0 when absent, so the 'layer' strategy plans the same fragments), rank (u32), dims (u32 each).
 * Every variable-length field is length-prefixed, so two different layouts cannot share a stream.
 * BigInt is fine here: the stream is a few kB at most and hashed once per run.
 */
function layoutHash(tensors: readonly TensorEntry[]): string {
  const bytes: number[] = [];
  const u16 = (v: number): void => { bytes.push(v & 0xff, (v >>> 8) & 0xff); };
  const u32 = (v: number): void => { u16(v & 0xffff); u16(v >>> 16); };
  const str = (s: string): void => {
    u32(s.length);
    for (let i = 0; i < s.length; i++) u16(s.charCodeAt(i));
  };
  str('tabswarm-layout-v1');
  u32(tensors.length);
  for (const t of tensors) {
    str(t.name);
    bytes.push(t.kind === 'embedding' ? 1 : 0);
    u32(t.layer === undefined ? 0 : t.layer + 1);
    u32(t.shape.length);
    for (const d of t.shape) u32(d);
  }
  return fnv1a64(Uint8Array.from(bytes));
}

/** FNV-1a 64-bit of a byte string, as 16 lowercase hex digits. */
export function fnv1a64(bytes: Uint8Array): string {
  let h = FNV_OFFSET;
  for (let i = 0; i < bytes.length; i++) h = BigInt.asUintN(64, (h ^ BigInt(bytes[i] ?? 0)) * FNV_PRIME);
  return h.toString(16).padStart(16, '0');
}
