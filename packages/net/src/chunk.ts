/**
 * Our own framing over PeerJS `serialization: 'raw'`. A raw send above 256 KiB (Chromium's SCTP
 * maxMessageSize) throws "Message too large" and PeerJS then closes the whole connection, and PeerJS's
 * own `binary` chunker trusts sender-supplied counts (docs/browser.md §3, docs/fault-tolerance.md §3). So
 * every message is split here into chunk frames of at most 64 KiB payload, each carrying an 18-byte
 * header:
 *
 *   offset 0  u16 magic       CHUNK_MAGIC: tells chunk frames from heartbeat frames
 *   offset 2  u32 msgId       per-sender message counter (wraps)
 *   offset 6  u32 index       0 … count-1, sent in order on the ordered, reliable channel
 *   offset 10 u32 count       number of chunks; must equal chunkCount(totalBytes)
 *   offset 14 u32 totalBytes  length of the whole message
 *
 * All integers little-endian. The receiver checks every field against its limits before it allocates.
 */

export const CHUNK_MAGIC = 0x5443; // "TC" read little-endian: tabswarm chunk
export const CHUNK_HEADER_BYTES = 18;
/** 64 KiB payload: no multi-second stalls as with 16 KiB frames (docs/browser.md §3); well under 256 KiB. */
export const DEFAULT_CHUNK_BYTES = 64 * 1024;
/** Chromium's SCTP maxMessageSize for one data-channel message, in bytes. A frame above it closes the connection. */
export const MAX_FRAME_BYTES = 256 * 1024;
/** u32 fields cap a message at 4 GiB - 1; real limits are far lower (maxMessageBytes). */
const U32_MAX = 0xffff_ffff;

/** Why a frame or a partial message was refused. A closed set, so refusals can be counted and tested. */
export type FrameRefusal =
  | 'not-binary'         // a string or other non-binary payload arrived on the raw channel
  | 'truncated'          // frame shorter than its header
  | 'bad-magic'          // neither a chunk nor a heartbeat frame
  | 'oversized'          // header totalBytes above maxMessageBytes
  | 'count-mismatch'     // header count disagrees with chunkCount(totalBytes)
  | 'index-out-of-range' // header index >= count
  | 'length-mismatch'    // payload length differs from what index/count/totalBytes imply
  | 'duplicate-index'    // a chunk index that was already received for this message
  | 'out-of-order'       // a chunk index beyond the next expected one (the channel is ordered)
  | 'header-mismatch'    // count/totalBytes differ from the first chunk of the same msgId
  | 'too-many-partials'  // more incomplete messages at once than maxPartials
  | 'buffer-full'        // the incomplete messages would reserve more than maxBufferedBytes
  | 'timeout';           // an incomplete message received no chunk for idleTimeoutMs

export interface Refusal {
  ok: false;
  reason: FrameRefusal;
  detail: string;
}

export const refuse = (reason: FrameRefusal, detail: string): Refusal => ({ ok: false, reason, detail });

export interface ChunkHeader {
  msgId: number;
  index: number;
  count: number;
  totalBytes: number;
}

/** Chunks needed for a message; an empty message still travels as one (empty) chunk. */
export function chunkCount(totalBytes: number, chunkBytes = DEFAULT_CHUNK_BYTES): number {
  return Math.max(1, Math.ceil(totalBytes / chunkBytes));
}

/** Payload length of chunk `index` of a message, in bytes. */
export function chunkLength(index: number, totalBytes: number, chunkBytes = DEFAULT_CHUNK_BYTES): number {
  return Math.max(0, Math.min(chunkBytes, totalBytes - index * chunkBytes));
}

export function checkChunkBytes(chunkBytes: number): void {
  if (!Number.isInteger(chunkBytes) || chunkBytes < 1 || chunkBytes + CHUNK_HEADER_BYTES > MAX_FRAME_BYTES) {
    throw new RangeError(`chunkBytes must be an integer in [1, ${MAX_FRAME_BYTES - CHUNK_HEADER_BYTES}], got ${chunkBytes}`);
  }
}

/**
 * The frames of one message, produced lazily so that a 64 MiB message never has all its frames in
 * memory at once: the sender copies one chunk (≤ 64 KiB) at a time, when backpressure allows.
 */
export function* chunkFrames(msgId: number, bytes: Uint8Array, chunkBytes = DEFAULT_CHUNK_BYTES): Generator<Uint8Array<ArrayBuffer>, void, undefined> {
  checkChunkBytes(chunkBytes);
  if (bytes.length > U32_MAX) throw new RangeError(`message of ${bytes.length} bytes exceeds the u32 length field`);
  const count = chunkCount(bytes.length, chunkBytes);
  for (let index = 0; index < count; index++) {
    const start = index * chunkBytes;
    const payload = bytes.subarray(start, start + chunkLength(index, bytes.length, chunkBytes));
    const frame = new Uint8Array(CHUNK_HEADER_BYTES + payload.length);
    writeChunkHeader(frame, { msgId: msgId >>> 0, index, count, totalBytes: bytes.length });
    frame.set(payload, CHUNK_HEADER_BYTES);
    yield frame;
  }
}

export function writeChunkHeader(frame: Uint8Array, h: ChunkHeader): void {
  const v = new DataView(frame.buffer, frame.byteOffset, CHUNK_HEADER_BYTES);
  v.setUint16(0, CHUNK_MAGIC, true);
  v.setUint32(2, h.msgId, true);
  v.setUint32(6, h.index, true);
  v.setUint32(10, h.count, true);
  v.setUint32(14, h.totalBytes, true);
}

/** Reads the magic of any frame (chunk or heartbeat); undefined when the frame is shorter than 2 bytes. */
export function frameMagic(frame: Uint8Array): number | undefined {
  if (frame.length < 2) return undefined;
  return new DataView(frame.buffer, frame.byteOffset, 2).getUint16(0, true);
}

/**
 * Parses and checks a chunk header against the receiver's limits: total size, count consistency,
 * index range and exact payload length. Nothing is allocated here.
 */
export function readChunkHeader(frame: Uint8Array, maxMessageBytes: number, chunkBytes = DEFAULT_CHUNK_BYTES): { ok: true; header: ChunkHeader } | Refusal {
  if (frame.length < CHUNK_HEADER_BYTES) return refuse('truncated', `frame of ${frame.length} bytes is shorter than the ${CHUNK_HEADER_BYTES}-byte chunk header`);
  const v = new DataView(frame.buffer, frame.byteOffset, CHUNK_HEADER_BYTES);
  const magic = v.getUint16(0, true);
  if (magic !== CHUNK_MAGIC) return refuse('bad-magic', `magic 0x${magic.toString(16)} is not a chunk`);
  const header: ChunkHeader = { msgId: v.getUint32(2, true), index: v.getUint32(6, true), count: v.getUint32(10, true), totalBytes: v.getUint32(14, true) };
  const { index, count, totalBytes } = header;
  if (totalBytes > maxMessageBytes) return refuse('oversized', `message of ${totalBytes} bytes exceeds the limit of ${maxMessageBytes}`);
  const expected = chunkCount(totalBytes, chunkBytes);
  if (count !== expected) return refuse('count-mismatch', `count ${count} but ${totalBytes} bytes need ${expected} chunks of ${chunkBytes}`);
  if (index >= count) return refuse('index-out-of-range', `index ${index} >= count ${count}`);
  const payload = frame.length - CHUNK_HEADER_BYTES;
  const want = chunkLength(index, totalBytes, chunkBytes);
  if (payload !== want) return refuse('length-mismatch', `chunk ${index} carries ${payload} bytes, expected ${want}`);
  return { ok: true, header };
}
