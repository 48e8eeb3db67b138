// @tabswarm/core: Decoupled DiLoCo in pure TypeScript. Time and randomness are injected.
export * from './result';
export * from './rng';
export * from './layout';
export * from './fragments';
export { codecByName, decodeAny, DEFAULT_BLOCK, getCodec, fp32, fp16, int8, int4, int2, int1, MIN_BLOCK, MAX_BLOCK } from './codecs';
export type { Codec, CodecId } from './codecs';
export { HEADER_BYTES as CODEC_HEADER_BYTES } from './codecs';
export * from './merge';
export * from './outer';
export * from './grace';
export * from './protocol';
export * from './syncer/config';
export * from './syncer/events';
export { Syncer } from './syncer/syncer';
export { exportModel, type ModelState } from './syncer/global-model';
export type { LearnerRecord } from './syncer/learners';
export { LearnerState } from './learner/state';
