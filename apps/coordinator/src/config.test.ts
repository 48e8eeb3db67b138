import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { readConfig } from './config';

const page = (query: string): URL => new URL(`http://127.0.0.1:5173/coordinator/?${query}`);

describe('the coordinator URL config', () => {
  beforeEach(() => vi.stubGlobal('location', page('')));
  afterEach(() => vi.unstubAllGlobals());

  it('refuses merge=centered-clip below K=3: one or two pushes are their own median', () => {
    for (const K of [1, 2]) expect(() => readConfig(page(`merge=centered-clip&K=${K}`))).toThrow(/centered-clip with K=\d.*K >= 2f \+ 1/);
    expect(() => readConfig(page('merge=centered-clip'))).toThrow(/K=1/); // the default K
    expect(readConfig(page('merge=centered-clip&K=3')).sync).toMatchObject({ merge: 'centered-clip', K: 3 });
    expect(readConfig(page('K=1')).sync).toMatchObject({ merge: 'rda', K: 1 });
  });
});
