import { encodeMessage, encodeSafetensors, layoutTensors, makeLayout, makeSyncConfig, META, Syncer } from '@tabswarm/core';
import { describe, expect, it } from 'vitest';
import { stateFromModelFile } from './model-file';

const layout = makeLayout([
  { name: 'w', shape: [6, 3], kind: 'dense' },
  { name: 'b', shape: [5], kind: 'dense' },
]);
const cfg = makeSyncConfig({ runId: 'r', P: 2, H: 4, tau: 1, K: 1, uplinkCodec: 0, minStepMs: 1e-3, tokensPerStep: 10, stepBound: Number.MAX_VALUE });
const theta = Float32Array.from({ length: layout.totalSize }, (_, i) => Math.cos(i));
/** A model file of `theta` whose only metadata is the global step (no momentum, no versions: every fragment at the step). */
const fileAt = (globalStep: string): Uint8Array => encodeSafetensors(layoutTensors(layout, theta), { [META.globalStep]: globalStep });
const read = (bytes: Uint8Array): ReturnType<typeof stateFromModelFile> => stateFromModelFile(bytes, layout, new Syncer(cfg, layout, theta, 1).fragments);

describe('a model file\'s global step', () => {
  it('is read up to 2^32 - 1, the largest a snapshot\'s u32 field carries, and the restored run can send its snapshot', () => {
    const d = read(fileAt('4294967295'));
    expect(d.globalStep).toBe(2 ** 32 - 1);
    expect(d.versions).toEqual([2 ** 32 - 1, 2 ** 32 - 1]);
    const s = new Syncer(cfg, layout, theta, 1);
    s.restore(d);
    expect(encodeMessage(s.snapshotFor()).length).toBeGreaterThan(4 * layout.totalSize);
  });

  it('is refused, with the reason, the field and the limit, when it is out of a u32 or not plain decimal digits', () => {
    const refusal = (v: string): string => {
      try {
        return `accepted as ${read(fileAt(v)).globalStep}`;
      } catch (e) {
        return `${(e as { reason?: string }).reason}: ${(e as Error).message}`;
      }
    };
    expect(refusal('4294967296')).toBe('bad-field: model file refused (bad-field): metadata tabswarm.global_step is "4294967296", want decimal digits from 0 to 4294967295');
    for (const v of ['', '0x10', '1e3', '-1', ' 7', '7 ', '+7', '7.0']) expect(refusal(v), JSON.stringify(v)).toMatch(/^bad-field: .*want decimal digits from 0 to 4294967295$/);
  });
});

describe('a model file\'s merged tokens', () => {
  const withTokens = (v: string): Uint8Array => encodeSafetensors(layoutTensors(layout, theta), { [META.globalStep]: '3', [META.mergedTokens]: v });
  it('reads what the writer writes (String of a number >= 0), exponent included', () => {
    for (const n of [0, 7, 1234.5, 1.5e21, Number.MAX_VALUE]) expect(read(withTokens(String(n))).mergedTokens, String(n)).toBe(n);
  });

  it('refuses anything else with the reason and the field, where Number() read \'\' as 0 and \'0x10\' as 16', () => {
    for (const v of ['', '0x10', ' 7', '-1', '1e3', 'Infinity', 'NaN', '1e+400', '.5']) {
      expect(() => read(withTokens(v)), JSON.stringify(v)).toThrow(`metadata tabswarm.merged_tokens is ${JSON.stringify(v)}, want a finite decimal number >= 0`);
    }
  });
});
