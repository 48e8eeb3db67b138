import { describe, expect, it } from 'vitest';
import { makeRng } from './rng';
import { utf8Decode, utf8Encode } from './utf8';

// The oracle is the platform's TextDecoder in fatal mode (WHATWG Encoding: the same strict UTF-8 as RFC 3629).
const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const oracle = (b: Uint8Array): string | undefined => { try { return strict.decode(b); } catch { return undefined; } };

describe('utf8Decode', () => {
  it('agrees with TextDecoder on the edge cases of every sequence length', () => {
    const cases = [
      [], [0x41], [0x7f], [0x80], [0xbf], [0xc0, 0x80], [0xc1, 0xbf], [0xc2, 0x80], [0xdf, 0xbf], [0xc2],
      [0xe0, 0x80, 0x80], [0xe0, 0x9f, 0xbf], [0xe0, 0xa0, 0x80], [0xed, 0x9f, 0xbf], [0xed, 0xa0, 0x80], [0xed, 0xbf, 0xbf],
      [0xee, 0x80, 0x80], [0xef, 0xbf, 0xbf], [0xe2, 0x82], [0xf0, 0x8f, 0xbf, 0xbf], [0xf0, 0x90, 0x80, 0x80],
      [0xf4, 0x8f, 0xbf, 0xbf], [0xf4, 0x90, 0x80, 0x80], [0xf5, 0x80, 0x80, 0x80], [0xff], [0xf0, 0x9f, 0x98],
      [0x61, 0xe2, 0x82, 0xac, 0x62], [0xe2, 0x82, 0xac, 0xe2], [0xc3, 0x28], [0x7b, 0x22, 0xc3, 0xa9, 0x22, 0x7d],
    ];
    for (const c of cases) expect(utf8Decode(Uint8Array.from(c)), JSON.stringify(c)).toBe(oracle(Uint8Array.from(c)));
  });

  it('agrees with TextDecoder on 20,000 random byte strings biased towards multi-byte sequences', () => {
    const rng = makeRng(7);
    const interesting = [0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff];
    let valid = 0;
    for (let n = 0; n < 20_000; n++) {
      const b = Uint8Array.from({ length: rng.int(9) }, () => (rng.next() < 0.6 ? interesting[rng.int(interesting.length)]! : rng.int(256)));
      const want = oracle(b);
      if (want !== undefined) valid++;
      expect(utf8Decode(b), Array.from(b).join(',')).toBe(want);
    }
    expect(valid).toBeGreaterThan(1000); // the test exercises both outcomes
  });
});

describe('utf8Encode', () => {
  it('agrees with TextEncoder, lone surrogates included, and round-trips through the decoder', () => {
    const enc = new TextEncoder();
    const rng = makeRng(3);
    const points = [0x24, 0x7f, 0x80, 0x7ff, 0x800, 0xd7ff, 0xd800, 0xdbff, 0xdc00, 0xdfff, 0xe000, 0xfffd, 0xffff, 0x10000, 0x1f600, 0x10ffff];
    for (let n = 0; n < 2000; n++) {
      const s = String.fromCharCode(...Array.from({ length: rng.int(6) }, () => {
        const p = points[rng.int(points.length)]!;
        return p > 0xffff ? 0xd83d : p; // a high surrogate alone, or followed by a low one below: both must match
      })) + (rng.next() < 0.3 ? String.fromCodePoint(points[rng.int(points.length)]!) : '');
      const b = utf8Encode(s);
      expect(Array.from(b)).toEqual(Array.from(enc.encode(s)));
      expect(utf8Decode(b)).toBe(new TextDecoder().decode(enc.encode(s)));
    }
  });
});
