/**
 * A reader other than our own: tools/read_safetensors.py, stdlib-only Python written from the published
 * format, reads a file our writer made. Skipped, with the reason printed, where python3 is missing.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeLayout } from './layout';
import { makeRng } from './rng';
import { planFragments } from './fragments';
import { outerTensors } from './outer-file';
import { encodeSafetensors, layoutTensors, META } from './safetensors';

const reader = join(import.meta.dirname, '../../../tools/read_safetensors.py');
const python = spawnSync('python3', ['--version']).status === 0;
if (!python) console.warn('safetensors.python.test: skipped, no python3 on PATH to run tools/read_safetensors.py');

interface PyView { metadata: Record<string, string>; tensors: Array<{ name: string; dtype: string; shape: number[]; sha256: string; first: number[] }> }

describe.skipIf(!python)('tools/read_safetensors.py', () => {
  const dir = mkdtempSync(join(tmpdir(), 'st-'));
  const path = join(dir, 'model.safetensors');
  const read = (bytes: Uint8Array): { status: number | null; out: string; err: string } => {
    writeFileSync(path, bytes);
    const r = spawnSync('python3', [reader, path], { encoding: 'utf8' });
    return { status: r.status, out: r.stdout, err: r.stderr };
  };

  it('reads our file: names, dtype, shapes, metadata, and every tensor\'s bytes by SHA-256', () => {
    const layout = makeLayout([
      { name: 'tok.emb', shape: [65, 16], kind: 'embedding' },
      { name: 'b0.attn.w', shape: [16, 48], kind: 'dense', layer: 0 },
      { name: 'b0.attn.b', shape: [48], kind: 'dense', layer: 0 },
    ]);
    const rng = makeRng(11);
    const theta = Float32Array.from({ length: layout.totalSize }, () => rng.normal());
    const meta = { [META.layoutHash]: layout.hash, [META.runId]: 'café-1', [META.globalStep]: '17' };
    const r = read(encodeSafetensors(layoutTensors(layout, theta), meta));
    expect(r.status, r.err).toBe(0);
    const view = JSON.parse(r.out) as PyView;
    expect(view.metadata).toEqual(meta);
    expect(view.tensors.map((t) => [t.name, t.dtype, t.shape])).toEqual(layout.tensors.map((t) => [t.name, 'F32', [...t.shape]]));
    for (const [i, t] of layout.tensors.entries()) {
      const ours = theta.slice(t.offset, t.offset + t.size);
      expect(view.tensors[i]!.sha256).toBe(createHash('sha256').update(new Uint8Array(ours.buffer)).digest('hex'));
      expect(view.tensors[i]!.first).toEqual(Array.from(ours.subarray(0, 4))); // Python's doubles of the same float32s
    }
  });

  it('reads the outer optimizer state beside the parameters: its tensors by name and bytes, its metadata', () => {
    const layout = makeLayout([{ name: 'w', shape: [6, 2], kind: 'dense' }, { name: 'b', shape: [2], kind: 'dense' }]);
    const fragments = planFragments(layout, 2);
    const rng = makeRng(12);
    const v = (n: number): Float32Array => Float32Array.from({ length: n }, () => rng.normal());
    const outer = fragments.map((f, p) => ({ buf: v(f.size), acc: p === 0 ? v(f.size) : null, count: p === 0 ? 3 : 0 }));
    const o = outerTensors(layout, fragments, outer);
    const theta = v(layout.totalSize);
    const r = read(encodeSafetensors([...layoutTensors(layout, theta), ...o.tensors], { [META.layoutHash]: layout.hash, ...o.metadata }));
    expect(r.status, r.err).toBe(0);
    const view = JSON.parse(r.out) as PyView;
    expect(view.metadata).toEqual({ [META.layoutHash]: layout.hash, ...o.metadata });
    expect(view.metadata[META.outerCycleMerges]).toBe('[3,0]');
    const ours = [...layoutTensors(layout, theta), ...o.tensors];
    expect(view.tensors.map((t) => [t.name, t.shape])).toEqual(ours.map((t) => [t.name, [...t.shape]]));
    expect(view.tensors.map((t) => t.sha256)).toEqual(ours.map((t) => createHash('sha256').update(new Uint8Array(Float32Array.from(t.data).buffer)).digest('hex')));
  });

  it('refuses a file with a hole in its data (the oracle is not a yes-machine)', () => {
    const h = new TextEncoder().encode('{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}');
    const b = new Uint8Array(8 + h.length + 8);
    new DataView(b.buffer).setBigUint64(0, BigInt(h.length), true);
    b.set(h, 8);
    const r = read(b);
    expect(r.status).toBe(1);
    expect(r.err).toMatch(/hole or an overlap/);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
});
