/**
 * Small in-memory data files for the tests, in the real on-disk formats (data-format.ts), so tests
 * exercise fromBytes exactly as the browser does without needing public/data to be built.
 */
import { DIGIT_CLASSES, DIGIT_FEATURES, DIGIT_RECORD_BYTES, type DigitsMeta, type VocabFile } from './data-format';

const json = (v: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(v));

/** Text files whose vocabulary is the text's own characters; train is the text `repeat` times, val once more. */
export function textFiles(text: string, repeat = 1): Record<string, Uint8Array> {
  const chars = [...new Set(text)].sort();
  const vocab: VocabFile = { version: 1, chars, unk: chars.length, vocabSize: chars.length + 1, minCount: 1, source: 'test' };
  const encode = (s: string): Uint8Array => Uint8Array.from(s, (ch) => chars.indexOf(ch));
  return { 'train.bin': encode(text.repeat(repeat)), 'val.bin': encode(text), 'vocab.json': json(vocab) };
}

/**
 * Synthetic digits: class k lights pixel rows 2k..2k+2 (values 200..255) over a faint deterministic
 * background (0..16), so a linear model can separate them.
 */
export function digitsFiles(train: number, val: number): Record<string, Uint8Array> {
  const records = (n: number, salt: number): Uint8Array => {
    const out = new Uint8Array(n * DIGIT_RECORD_BYTES);
    for (let r = 0; r < n; r++) {
      const label = (r * 7 + salt) % DIGIT_CLASSES;
      const at = r * DIGIT_RECORD_BYTES;
      for (let p = 0; p < DIGIT_FEATURES; p++) {
        const row = Math.floor(p / 28);
        out[at + p] = row >= 2 * label && row < 2 * label + 3 ? 200 + ((r + p) % 56) : (r * p) % 17;
      }
      out[at + DIGIT_FEATURES] = label;
    }
    return out;
  };
  const meta: DigitsMeta = { version: 1, width: 28, height: 28, features: 784, classes: 10, recordBytes: 785, train, val, source: 'test' };
  return { 'train.bin': records(train, 0), 'val.bin': records(val, 3), 'meta.json': json(meta) };
}
