/**
 * The global model as a safetensors file, the format PyTorch, JAX and the `safetensors` tools read
 * (docs/model-file.md):
 *   8 bytes   N, the header length, u64 little-endian
 *   N bytes   a UTF-8 JSON object, padded with spaces: per tensor {dtype, shape, data_offsets: [begin, end]}
 *             (byte offsets into the data), and "__metadata__", a map of strings to strings
 *   the rest  the tensors' bytes, little-endian, row-major, back to back, with no holes
 * We write F32 only, in layout order, and pad the header so the data start on an 8-byte boundary. The
 * reader refuses anything the format forbids, with a reason code, before a single value is used.
 */
import type { ParamLayout } from './layout';
import { firstDuplicateKey } from './json-keys';
import { fail, ok, type Result } from './result';
import { utf8Decode, utf8Encode } from './utf8';

export interface NamedTensor {
  name: string;
  shape: readonly number[];
  data: Float32Array;
}

export interface SafetensorsFile {
  tensors: NamedTensor[];
  metadata: Record<string, string>;
}

/** The format's own limit on the header (100 MB), which also bounds what we parse before checking. */
export const MAX_HEADER_BYTES = 100_000_000;

/** Metadata keys we write and read back; values are strings, as the format requires. */
export const META = {
  layoutHash: 'tabswarm.layout_hash',
  runId: 'tabswarm.run_id',
  workload: 'tabswarm.workload',
  model: 'tabswarm.model',
  globalStep: 'tabswarm.global_step',
  mergedTokens: 'tabswarm.merged_tokens',
  versions: 'tabswarm.fragment_versions',
  protocol: 'tabswarm.protocol_version',
  format: 'tabswarm.file_format',
  /** The outer optimizer's state (outer-file.ts): the name prefixes of its tensors and its open cycles. */
  outerMomentum: 'tabswarm.outer_momentum',
  outerCycleSum: 'tabswarm.outer_cycle_sum',
  outerCycleMerges: 'tabswarm.outer_cycle_merges',
} as const;

/** 2: the outer optimizer's state travels as extra tensors under OUTER_PREFIX (outer-file.ts). */
export const FILE_FORMAT = 'tabswarm-safetensors/2';

/** Tensors named under this prefix are the outer optimizer's state, not parameters (outer-file.ts). */
export const OUTER_PREFIX = 'tabswarm.outer.';

/** One tensor per layout entry, viewing `theta` (no copy). */
export function layoutTensors(layout: ParamLayout, theta: Float32Array): NamedTensor[] {
  if (theta.length !== layout.totalSize) throw new RangeError(`theta has ${theta.length} values, the layout ${layout.totalSize}`);
  return layout.tensors.map((t) => ({ name: t.name, shape: t.shape, data: theta.subarray(t.offset, t.offset + t.size) }));
}

export function encodeSafetensors(tensors: readonly NamedTensor[], metadata: Record<string, string>): Uint8Array<ArrayBuffer> {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let end = 0;
  for (const t of tensors) {
    if (t.name === '__metadata__' || t.name in header) throw new RangeError(`tensor name ${t.name} is reserved or repeated`);
    if (t.data.length !== t.shape.reduce((a, b) => a * b, 1)) throw new RangeError(`tensor ${t.name}: ${t.data.length} values for shape [${t.shape.join(', ')}]`);
    header[t.name] = { dtype: 'F32', shape: [...t.shape], data_offsets: [end, end + 4 * t.data.length] };
    end += 4 * t.data.length;
  }
  const json = utf8Encode(JSON.stringify(header));
  const n = json.length + ((8 - (json.length % 8)) % 8);
  const out = new Uint8Array(8 + n + end);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, BigInt(n), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + n);
  let off = 8 + n;
  // DataView writes little-endian whatever the host's order; float32 → double → float32 is exact for every non-NaN value.
  for (const t of tensors) for (let i = 0; i < t.data.length; i++, off += 4) dv.setFloat32(off, t.data[i]!, true);
  return out;
}

interface Entry { name: string; shape: number[]; begin: number; end: number }

export function decodeSafetensors(bytes: Uint8Array): Result<SafetensorsFile> {
  if (bytes.length < 8) return fail('truncated', `${bytes.length} bytes: shorter than the 8-byte header length`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n64 = dv.getBigUint64(0, true);
  if (n64 > BigInt(MAX_HEADER_BYTES)) return fail('oversized', `header of ${n64} bytes is over the format's ${MAX_HEADER_BYTES}`);
  const n = Number(n64);
  if (8 + n > bytes.length) return fail('truncated', `header of ${n} bytes runs past the file's ${bytes.length}`);
  if (n === 0 || bytes[8] !== 0x7b) return fail('bad-field', 'the header does not start with "{"');
  const text = utf8Decode(bytes.subarray(8, 8 + n));
  if (text === undefined) return fail('bad-field', 'the header is not well-formed UTF-8');
  let header: unknown;
  try { header = JSON.parse(text); } catch (e) { return fail('bad-field', `the header is not JSON: ${(e as Error).message}`); }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) return fail('bad-field', 'the header is not a JSON object');
  const metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const [name, v] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail('bad-field', '__metadata__ is not an object');
      for (const [k, s] of Object.entries(v as Record<string, unknown>)) {
        if (typeof s !== 'string') return fail('bad-field', `__metadata__.${k} is not a string`);
        metadata[k] = s;
      }
      continue;
    }
    const e = entry(name, v);
    if (!e.ok) return e;
    entries.push(e.value);
  }
  // The format forbids duplicate keys, and JSON.parse keeps the last of two silently. Looked for once every
  // entry has passed, so the header holds no objects but the tensors' and the metadata's.
  const twice = firstDuplicateKey(text);
  if (twice !== undefined) return fail('bad-field', `the header has the key ${JSON.stringify(twice.slice(0, 64))} twice in one object`);
  // The data must be indexed entirely, without holes or overlaps.
  const data = bytes.subarray(8 + n);
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  for (const e of sorted) {
    if (e.begin !== at) return fail('length-mismatch', `tensor ${e.name} starts at byte ${e.begin} of the data, the previous one ends at ${at}`);
    at = e.end;
  }
  if (at < data.length) return fail('trailing-bytes', `${data.length - at} data bytes after the last tensor`);
  if (at > data.length) return fail('truncated', `tensors need ${at} data bytes, the file has ${data.length}`);
  const ddv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const tensors: NamedTensor[] = [];
  for (const e of entries) {
    const out = new Float32Array((e.end - e.begin) / 4);
    for (let i = 0; i < out.length; i++) {
      const x = ddv.getFloat32(e.begin + 4 * i, true);
      if (!Number.isFinite(x)) return fail('non-finite', `tensor ${e.name} element ${i} is ${x}`);
      out[i] = x;
    }
    tensors.push({ name: e.name, shape: e.shape, data: out });
  }
  return ok({ tensors, metadata });
}

function entry(name: string, v: unknown): Result<Entry> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail('bad-field', `tensor ${name} is not an object`);
  const { dtype, shape, data_offsets: offsets, ...rest } = v as Record<string, unknown>;
  if (Object.keys(rest).length > 0) return fail('bad-field', `tensor ${name} has unknown fields ${Object.keys(rest).join(', ')}`);
  if (dtype !== 'F32') return fail('bad-field', `tensor ${name} has dtype ${JSON.stringify(dtype)}: this reader takes F32 only`);
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) return fail('bad-field', `tensor ${name} has shape ${JSON.stringify(shape)}`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
    return fail('bad-field', `tensor ${name} has data_offsets ${JSON.stringify(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  const count = (shape as number[]).reduce((a, b) => a * b, 1);
  if (!Number.isSafeInteger(4 * count) || end - begin !== 4 * count) return fail('length-mismatch', `tensor ${name}: ${end - begin} bytes for shape [${shape.join(', ')}] of F32`);
  return ok({ name, shape: shape as number[], begin, end });
}

/**
 * The flat parameters of `layout` from a file: every layout tensor present by name with its shape, no
 * other tensor (those under OUTER_PREFIX are outer-file.ts's to check), and, when the file names a layout
 * hash, that hash. Tensor kinds and layers are not in the format, so names and shapes are what a file
 * written by another tool can be checked against.
 */
export function thetaFromFile(layout: ParamLayout, file: SafetensorsFile): Result<Float32Array> {
  const hash = file.metadata[META.layoutHash];
  if (hash !== undefined && hash !== layout.hash) return fail('layout-mismatch', `the file is for model ${hash.slice(0, 32)}, this run has ${layout.hash}`);
  const byName = new Map(file.tensors.filter((t) => !t.name.startsWith(OUTER_PREFIX)).map((t) => [t.name, t]));
  const theta = new Float32Array(layout.totalSize);
  for (const t of layout.tensors) {
    const f = byName.get(t.name);
    if (!f) return fail('layout-mismatch', `the file has no tensor ${t.name}`);
    if (f.shape.length !== t.shape.length || f.shape.some((d, i) => d !== t.shape[i])) {
      return fail('layout-mismatch', `tensor ${t.name} has shape [${f.shape.join(', ')}], the model [${t.shape.join(', ')}]`);
    }
    theta.set(f.data, t.offset);
    byName.delete(t.name);
  }
  if (byName.size > 0) return fail('layout-mismatch', `the file has tensors the model lacks: ${[...byName.keys()].slice(0, 5).join(', ')}`);
  return ok(theta);
}
