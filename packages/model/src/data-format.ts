/**
 * On-disk formats of the two workloads under public/data/<workload>/, shared by the writer
 * (scripts/build-data.ts) and the reader (data.ts). Types and constants only; no I/O.
 *
 *   text/train.bin, text/val.bin   one byte per character: the token id (< vocabSize <= 97)
 *   text/vocab.json                VocabFile
 *   digits/train.bin, val.bin      records of DIGIT_RECORD_BYTES: 784 pixels (0-255, row-major 28x28), then the label
 *   digits/meta.json               DigitsMeta
 */

export type Workload = 'text' | 'digits';

export const WORKLOADS: readonly Workload[] = ['text', 'digits'];

/** The files each workload needs, in the order loadDataset fetches them. */
export const DATA_FILES = {
  text: ['train.bin', 'val.bin', 'vocab.json'],
  digits: ['train.bin', 'val.bin', 'meta.json'],
} as const satisfies Record<Workload, readonly string[]>;

export interface VocabFile {
  version: 1;
  /** Characters of ids 0..chars.length-1, sorted by code point. */
  chars: string[];
  /** Id of the unknown-character token; always chars.length (the last id). */
  unk: number;
  /** chars.length + 1 (the UNK). */
  vocabSize: number;
  /** Characters seen fewer times than this in the corpus map to UNK. */
  minCount: number;
  source: string;
}

export interface DigitsMeta {
  version: 1;
  width: 28;
  height: 28;
  features: 784;
  classes: 10;
  recordBytes: 785;
  /** Example counts in train.bin and val.bin. */
  train: number;
  val: number;
  source: string;
}

export const DIGIT_FEATURES = 784;
export const DIGIT_CLASSES = 10;
/** 784 pixel bytes then one label byte. */
export const DIGIT_RECORD_BYTES = DIGIT_FEATURES + 1;
