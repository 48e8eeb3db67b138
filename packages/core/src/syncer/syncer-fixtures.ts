/**
 * Shared by the syncer's scripted tests (syncer.test.ts, dedupe.test.ts, reopen.test.ts): two tensors of
 * two values each, so P = 2 puts one in each fragment; their initial values; and the fp32 codec their
 * hand-made pushes use (lossless, so merges can be worked by hand). Not exported from index.ts.
 */
import { getCodec, type Codec } from '../codecs';
import { makeLayout } from '../layout';

export const layout = makeLayout([
  { name: 'a', shape: [2], kind: 'dense' },
  { name: 'b', shape: [2], kind: 'dense' },
]);

export const init = Float32Array.from([1, 2, 3, 4]);

export const fp32: Codec = (() => {
  const c = getCodec(0);
  if (!c.ok) throw new Error('fp32 codec missing');
  return c.value;
})();
