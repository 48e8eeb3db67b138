export { codecByName, decodeAny, DEFAULT_BLOCK, getCodec, type Codec, type CodecId } from './codec';
export { fp32 } from './fp32';
export { fp16, fromHalf, toHalf } from './fp16';
export { int2, int4, int8 } from './blockwise';
export { int1 } from './sign';
export { HEADER_BYTES, MAX_BLOCK, MIN_BLOCK } from './format';
