/**
 * UTF-8 without TextEncoder/TextDecoder, which the pure core's ES2022 library does not declare. Used for
 * file headers (safetensors.ts), a few kB at most, so clarity beats speed here.
 */

export function utf8Encode(s: string): Uint8Array<ArrayBuffer> {
  const out: number[] = [];
  for (const ch of s) {
    let c = ch.codePointAt(0)!;
    if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd; // a lone surrogate cannot be encoded: U+FFFD, as TextEncoder does
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  }
  return Uint8Array.from(out);
}

/**
 * Strict decoding: undefined for anything that is not well-formed UTF-8 (RFC 3629: overlong forms,
 * surrogates, code points above U+10FFFF, stray continuation bytes, truncation).
 */
export function utf8Decode(b: Uint8Array): string | undefined {
  let s = '';
  for (let i = 0; i < b.length;) {
    const x = b[i]!;
    // Continuation bytes after the lead byte: C0/C1 would only start overlong 2-byte forms, F5..FF lie above U+10FFFF.
    const n = x < 0x80 ? 0 : x >= 0xc2 && x < 0xe0 ? 1 : x >= 0xe0 && x < 0xf0 ? 2 : x >= 0xf0 && x < 0xf5 ? 3 : -1;
    if (n < 0 || i + n >= b.length) return undefined; // a bad lead byte, or its sequence runs past the end
    let c = n === 0 ? x : x & (0x3f >> n);
    for (let k = 1; k <= n; k++) {
      const y = b[i + k]!;
      if ((y & 0xc0) !== 0x80) return undefined;
      c = (c << 6) | (y & 63);
    }
    if ((n === 2 && c < 0x800) || (n === 3 && (c < 0x10000 || c > 0x10ffff)) || (c >= 0xd800 && c <= 0xdfff)) return undefined;
    s += String.fromCodePoint(c);
    i += n + 1;
  }
  return s;
}
