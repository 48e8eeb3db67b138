export * from './messages';
export { DEFAULT_LIMITS, NO_LIMITS } from './limits';
export type { Limits } from './limits';
export { encodeMessage, OUTCOME_CODES, PRECISION_CODES } from './encode';
export { decodeMessage } from './decode';
export { peekHeader } from './peek';
export type { Header } from './peek';
export { validateMessage } from './validate';
export { f32ToHalfBits, halfBitsToF32 } from './half';
