import { describe, expect, it } from 'vitest';
import { gptParamCount } from './gpt';
import { describePreset, MODEL_PRESETS, parsePreset, TEXT_PRESETS } from './presets';

describe('model presets', () => {
  it('have the parameter counts the README and presets.ts state (Moby-Dick vocabulary, 78)', () => {
    const counts = MODEL_PRESETS.map((p) => gptParamCount({ ...TEXT_PRESETS[p].gpt, vocab: 78 }));
    expect(counts).toEqual([18_862, 114_254, 1_834_446, 10_805_838]);
  });

  it('parse from a URL parameter: absent is default, unknown names and non-default digits are refused', () => {
    expect(parsePreset('text', null)).toBe('default');
    expect(parsePreset('text', 'small')).toBe('small');
    expect(parsePreset('digits', '')).toBe('default');
    expect(() => parsePreset('text', 'huge')).toThrow('model="huge": want one of tiny, small, default, large');
    expect(() => parsePreset('digits', 'tiny')).toThrow('model=tiny: the digits workload has one network, model=default');
  });

  it('describe themselves for the pages', () => {
    expect(describePreset('text', 'tiny')).toBe('tiny: 1 block, d 32, context 32');
    expect(describePreset('text', 'large')).toBe('large: 6 blocks, d 384, context 256');
    expect(describePreset('digits', 'default')).toBe('default: 784 → 128 → 10 MLP');
  });
});
