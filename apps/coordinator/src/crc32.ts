/** CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320): a checksum for stored state, not a MAC. */
const TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

/** Continue a CRC over `bytes` (start with the default for a fresh one). */
export function crc32(bytes: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) c = TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/** Hex CRC of a parameter vector: the dashboard's "parameter hash", compared across reloads. */
export function paramsHash(theta: Float32Array): string {
  return crc32(new Uint8Array(theta.buffer, theta.byteOffset, theta.byteLength)).toString(16).padStart(8, '0');
}
