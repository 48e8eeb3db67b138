import { describe, expect, it } from 'vitest';
import { makeLayout } from './layout';
import { makeRng } from './rng';
import { decodeSafetensors, encodeSafetensors, layoutTensors, META, thetaFromFile, type SafetensorsFile } from './safetensors';

const layout = makeLayout([
  { name: 'tok', shape: [5, 3], kind: 'embedding' },
  { name: 'b0.w', shape: [3, 4], kind: 'dense', layer: 0 },
  { name: 'b0.b', shape: [4], kind: 'dense', layer: 0 },
]);

function thetaOf(seed: number): Float32Array {
  const rng = makeRng(seed);
  const t = Float32Array.from({ length: layout.totalSize }, () => rng.normal() * 10 ** (rng.int(40) - 20));
  t[0] = -0; t[1] = 1.4e-45; t[2] = 3.4028234663852886e38; // signed zero, the smallest subnormal, the largest float
  return t;
}

const bits = (a: Float32Array): number[] => Array.from(new Uint32Array(Float32Array.from(a).buffer));

/** A file from raw parts, for the refusal tests: header text (unpadded) and data bytes. */
function raw(header: string, data: Uint8Array = new Uint8Array(0), n = new TextEncoder().encode(header).length): Uint8Array {
  const h = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(n), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

describe('encodeSafetensors', () => {
  it('writes the published layout byte for byte (a hand-worked one-tensor file)', () => {
    const f = encodeSafetensors([{ name: 'w', shape: [2], data: Float32Array.of(1, -2) }], { k: 'v' });
    const json = '{"__metadata__":{"k":"v"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}'; // 79 bytes
    expect(json.length).toBe(79);
    expect(Array.from(f.subarray(0, 8))).toEqual([80, 0, 0, 0, 0, 0, 0, 0]); // padded to 80 so the data start at byte 88
    expect(new TextDecoder().decode(f.subarray(8, 88))).toBe(`${json} `);
    expect(Array.from(f.subarray(88))).toEqual([0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0]); // 1.0f and -2.0f, little-endian
  });

  it('refuses a reserved or repeated name and data that do not fit the shape', () => {
    expect(() => encodeSafetensors([{ name: '__metadata__', shape: [1], data: new Float32Array(1) }], {})).toThrow(/reserved/);
    expect(() => encodeSafetensors([{ name: 'a', shape: [1], data: new Float32Array(1) }, { name: 'a', shape: [1], data: new Float32Array(1) }], {})).toThrow(/repeated/);
    expect(() => encodeSafetensors([{ name: 'a', shape: [2, 2], data: new Float32Array(3) }], {})).toThrow(/shape/);
  });
});

describe('round trip', () => {
  it('gives back every parameter bit for bit, with names, shapes and metadata', () => {
    for (const seed of [1, 2, 3]) {
      const theta = thetaOf(seed);
      const meta = { [META.layoutHash]: layout.hash, [META.runId]: 'run-ü€😀', [META.globalStep]: '42' };
      const back = decodeSafetensors(encodeSafetensors(layoutTensors(layout, theta), meta));
      if (!back.ok) throw new Error(back.detail);
      expect(back.value.metadata).toEqual(meta);
      expect(back.value.tensors.map((t) => [t.name, t.shape])).toEqual(layout.tensors.map((t) => [t.name, [...t.shape]]));
      const again = thetaFromFile(layout, back.value);
      if (!again.ok) throw new Error(again.detail);
      expect(bits(again.value)).toEqual(bits(theta));
    }
  });

  it('reads a file whose tensors are stored out of layout order (as other writers sort them)', () => {
    const theta = thetaOf(4);
    const ts = layoutTensors(layout, theta).reverse();
    const back = decodeSafetensors(encodeSafetensors(ts, {}));
    if (!back.ok) throw new Error(back.detail);
    const t = thetaFromFile(layout, back.value);
    expect(t.ok && bits(t.value)).toEqual(bits(theta));
  });
});

describe('decodeSafetensors refuses what the format forbids', () => {
  const f32 = (n: number): Uint8Array => new Uint8Array(4 * n);
  const cases: Array<[string, Uint8Array, string]> = [
    ['fewer than 8 bytes', new Uint8Array(7), 'truncated'],
    ['a header past the end', raw('{}', undefined, 100), 'truncated'],
    ['a header over 100 MB', raw('{}', undefined, 100_000_001), 'oversized'],
    ['a header not starting with {', raw(' {}'), 'bad-field'],
    ['a header that is not JSON', raw('{"a":'), 'bad-field'],
    ['a header that is not UTF-8', raw('{"a":"\u00e9"}').map((b, i, a) => (i === a.length - 3 ? 0xc0 : b)), 'bad-field'],
    ['a dtype other than F32', raw('{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}', f32(1)), 'bad-field'],
    ['an unknown field', raw('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1}}', f32(1)), 'bad-field'],
    ['a negative dimension', raw('{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}', f32(1)), 'bad-field'],
    ['non-string metadata', raw('{"__metadata__":{"k":1}}'), 'bad-field'],
    ['offsets that disagree with the shape', raw('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}', f32(1)), 'length-mismatch'],
    ['a hole between tensors', raw('{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', f32(2)), 'length-mismatch'],
    ['overlapping tensors', raw('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', f32(2)), 'length-mismatch'],
    ['a duplicate key (its lost twin leaves a hole)', raw('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', f32(2)), 'bad-field'],
    // JSON.parse keeps the last "a": [4, 8] and "b": [0, 4] then cover the data, and the first "a" (shape [2]) is lost unseen.
    ['a duplicate key whose lost twin leaves no hole', raw('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', f32(2)), 'bad-field'],
    ['a duplicate key spelled with an escape', raw('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"\\u0061":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', f32(1)), 'bad-field'],
    ['a duplicate field inside a tensor', raw('{"a":{"dtype":"F16","dtype":"F32","shape":[1],"data_offsets":[0,4]}}', f32(1)), 'bad-field'],
    ['a duplicate metadata key', raw('{"__metadata__":{"tabswarm.layout_hash":"0123456789abcdef","tabswarm.layout_hash":"fedcba9876543210"}}'), 'bad-field'],
    ['bytes after the last tensor', raw('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', f32(2)), 'trailing-bytes'],
    ['data shorter than the tensors', raw('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', f32(1)), 'truncated'],
    ['a NaN', raw('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', Uint8Array.of(0, 0, 0xc0, 0x7f)), 'non-finite'],
  ];
  it.each(cases)('%s', (_what, bytes, reason) => {
    const r = decodeSafetensors(bytes);
    expect(r.ok ? 'accepted' : r.reason).toBe(reason);
  });
});

describe('duplicate keys', () => {
  it('are keys twice in one object, not names shared by two objects or text inside a value', () => {
    const header = '{"__metadata__":{"note":"{\\"a\\":1,\\"a\\":2}","a":"[\\"a\\"]"},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}';
    const r = decodeSafetensors(raw(header, new Uint8Array(8)));
    expect(r.ok && [r.value.metadata, r.value.tensors.map((t) => t.name)]).toEqual([{ note: '{"a":1,"a":2}', a: '["a"]' }, ['a', 'b']]);
  });
});

describe('thetaFromFile', () => {
  const file = (): SafetensorsFile => {
    const r = decodeSafetensors(encodeSafetensors(layoutTensors(layout, thetaOf(5)), { [META.layoutHash]: layout.hash }));
    if (!r.ok) throw new Error(r.detail);
    return r.value;
  };
  it('refuses another layout hash, a missing, reshaped or extra tensor', () => {
    const reason = (f: SafetensorsFile): string => { const r = thetaFromFile(layout, f); return r.ok ? 'accepted' : `${r.reason}: ${r.detail}`; };
    const a = file(); a.metadata[META.layoutHash] = '0123456789abcdef';
    expect(reason(a)).toMatch(/^layout-mismatch: the file is for model/);
    const b = file(); b.tensors.pop();
    expect(reason(b)).toMatch(/^layout-mismatch: the file has no tensor b0.b/);
    const c = file(); c.tensors[1] = { ...c.tensors[1]!, shape: [4, 3] };
    expect(reason(c)).toMatch(/^layout-mismatch: tensor b0.w has shape \[4, 3\]/);
    const d = file(); d.tensors.push({ name: 'extra', shape: [1], data: new Float32Array(1) });
    expect(reason(d)).toMatch(/^layout-mismatch: .*extra/);
  });
  it('takes a file without our metadata (written by another tool) when names and shapes fit', () => {
    const f = file(); delete f.metadata[META.layoutHash];
    expect(thetaFromFile(layout, f).ok).toBe(true);
  });
});
