/**
 * Datasets from bytes (windows, labels, fixed held-out sets, malformed files), the fetch loader's
 * URLs, errors and deadline, and a sanity check of the built public/data files when present.
 * Run: npx vitest run packages/model/src/data.test.ts
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { makeRng } from '@tabswarm/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { fromBytes, type DigitsDataset, type TextDataset } from './data';
import { DATA_FILES } from './data-format';
import { loadDataset, type FetchFn } from './load-dataset';
import { digitsFiles, textFiles } from './test-fixtures';

const TEXT = 'abcdefghijklmnopqrstuvwxyz0123456789 ';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('text dataset', () => {
  const ds = fromBytes('text', textFiles(TEXT, 10), { context: 8, heldOut: 3 }) as TextDataset;

  it('samples windows whose targets are the inputs shifted by one', () => {
    const { x, y, tokens } = ds.sampleBatch(makeRng(1), 5);
    expect(x.shape).toEqual([5, 8]);
    expect(y.shape).toEqual([5, 8]);
    expect(tokens).toBe(40);
    const xs = x.arraySync() as number[][], ys = y.arraySync() as number[][];
    xs.forEach((row, b) => {
      expect(ys[b]?.slice(0, 7)).toEqual(row.slice(1));
      expect(TEXT.repeat(10)).toContain(ds.decode([...row, ys[b]?.[7] ?? 0]));
    });
    tf.dispose([x, y]);
  });

  it('draws the same batch from the same seed, and a fixed held-out set', () => {
    const a = ds.sampleBatch(makeRng(9), 4), b = ds.sampleBatch(makeRng(9), 4);
    expect(a.x.arraySync()).toEqual(b.x.arraySync());
    const h1 = ds.heldOut(), h2 = ds.heldOut();
    expect(h1.x.shape).toEqual([3, 8]);
    expect(h1.y.arraySync()).toEqual(h2.y.arraySync());
    tf.dispose([a.x, a.y, b.x, b.y, h1.x, h1.y, h2.x, h2.y]);
  });

  it('rejects malformed files with the reason', () => {
    const files = textFiles(TEXT, 2);
    expect(() => fromBytes('text', { ...files, 'train.bin': Uint8Array.of(1, 2, 200, 3) }, { context: 2 })).toThrow(/train.bin\[2\] = 200 is not below vocabSize/);
    expect(() => fromBytes('text', { ...files, 'val.bin': Uint8Array.of(1, 2) }, { context: 8 })).toThrow(/val.bin has 2 tokens/);
    const { 'vocab.json': _gone, ...rest } = files;
    expect(() => fromBytes('text', rest)).toThrow(/missing vocab.json/);
  });
});

describe('digits dataset', () => {
  const ds = fromBytes('digits', digitsFiles(50, 20)) as DigitsDataset;

  it('gives [B, 784] pixels in [0, 1] and int labels; held-out is all of val by default', () => {
    const { x, y, tokens } = ds.sampleBatch(makeRng(2), 6);
    expect(x.shape).toEqual([6, 784]);
    expect(y.shape).toEqual([6]);
    expect(y.dtype).toBe('int32');
    expect(tokens).toBe(6);
    expect(x.max().arraySync()).toBeLessThanOrEqual(1);
    expect(x.min().arraySync()).toBeGreaterThanOrEqual(0);
    const h = ds.heldOut();
    expect(h.x.shape).toEqual([20, 784]);
    tf.dispose([x, y, h.x, h.y]);
  });

  it('rejects a record count that disagrees with meta.json', () => {
    const files = digitsFiles(5, 5);
    expect(() => fromBytes('digits', { ...files, 'train.bin': new Uint8Array(785 * 4) })).toThrow(/meta.json says 5 records/);
  });
});

describe('loadDataset', () => {
  const files = textFiles(TEXT, 3);
  const served = (seen: string[]): FetchFn => (url) => {
    seen.push(url);
    const name = url.split('/').pop() ?? '';
    const body = files[name];
    return Promise.resolve(body ? new Response(body.slice()) : new Response('not found', { status: 404 }));
  };

  it('fetches every file under <base>/<workload>/ and builds the dataset', async () => {
    const seen: string[] = [];
    const ds = await loadDataset('text', './data/', served(seen), { context: 4 });
    expect(seen).toEqual(DATA_FILES.text.map((n) => `./data/text/${n}`));
    expect(ds.workload).toBe('text');
    expect(ds.trainSize).toBe(TEXT.length * 3);
  });

  it('names the URL and status on an HTTP error', async () => {
    await expect(loadDataset('digits', '/data', served([]))).rejects.toThrow(/\/data\/digits\/meta.json answered HTTP 404/); // the fake serves only the text files
  });

  it('rejects at the deadline and aborts the stalled requests', async () => {
    const signals: AbortSignal[] = [];
    const stalled: FetchFn = (_url, { signal }) => {
      signals.push(signal);
      return new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))));
    };
    await expect(loadDataset('text', '/data', stalled, { timeoutMs: 30 })).rejects.toThrow(/did not arrive within 30 ms/);
    expect(signals.length).toBe(3);
    expect(signals.every((s) => s.aborted)).toBe(true);
  });
});

// Checks the files scripts/build-data.ts writes. `npm test` and `npm run test:unit` build them first (in a
// second or two; nothing when up to date); only a bare `npx vitest` on a fresh checkout skips this.
const DATA = resolve(import.meta.dirname, '../../../public/data');
const built = DATA_FILES.text.every((n) => existsSync(resolve(DATA, 'text', n))) && DATA_FILES.digits.every((n) => existsSync(resolve(DATA, 'digits', n)));

describe.skipIf(!built)('public/data (skipped until `npm run data` has built it)', () => {
  const read = (w: 'text' | 'digits'): Record<string, Uint8Array> =>
    Object.fromEntries(DATA_FILES[w].map((n) => [n, new Uint8Array(readFileSync(resolve(DATA, w, n)))]));

  it('holds Moby-Dick as 78 token ids split 90/10, and 3,750 + 750 digits', () => {
    const text = fromBytes('text', read('text')) as TextDataset;
    expect(text.vocabSize).toBe(78);
    expect(text.trainSize / (text.trainSize + text.valSize)).toBeCloseTo(0.9, 3);
    const digits = fromBytes('digits', read('digits')) as DigitsDataset;
    expect([digits.trainSize, digits.valSize]).toEqual([3750, 750]);
  });
});
