/**
 * The one binary frame format for every tabswarm message. Little-endian throughout.
 *
 *   offset 0  'T' 'S'       magic 0x54 0x53
 *          2  version u8    PROTOCOL_VERSION (7)
 *          3  type u8       TYPE_CODES (hello 1 … backend 12)
 *          4  fields, in the order below, with no gaps except the fp32 padding
 *
 * Field encodings:
 *   u8, u32, f64   fixed width, little-endian
 *   str            u8 length + that many ASCII bytes
 *   u32[] / f64[]  u32 element count + elements
 *   bytes          u32 byte count + bytes
 *   f32[]          u32 element count, then 0..3 zero bytes so the first value starts at a multiple of 4
 *                  from the start of the frame (decoders refuse non-zero padding), then fp32 values.
 *                  When the frame itself sits 4-aligned in memory, a receiver may view the values in
 *                  place with `new Float32Array(buffer, offset, n)`.
 *   f16[]          u32 element count + IEEE binary16 values (no padding)
 *   reason         u8 index into REASONS; 255 = none
 *
 *   hello      1  str runId, str learnerId, u32 session, str layoutHash, u32 tokensPerStep,
 *                 str backend, u8 uplinkCodec
 *   snapshot   2  str runId, u32 epoch, u32 globalStep, f64 progress,
 *                 u32 P, u32 H, u32 tau, u32 K, u8 uplinkCodec, u32 blockSize, u8 lockstep,
 *                 f64 lr.peak, f64 lr.warmup, f64 lr.floor, f64 lr.start, u32 tokensPerStep,
 *                 u32[] versions, f32[] params
 *   meta       3  u32 t, u32[] cSteps, f64[] cTokens, f64 stepMs, u32[] versions
 *   pull       4  u32 fragment, u32 round                                              (12 bytes)
 *   push       5  u32 fragment, u32 round, u32 epoch, u32 baseVersion, u32 seq, u32 t,
 *                 u32 cSteps, f64 cTokens, u8 codec, bytes payload         (45 bytes + payload)
 *   ack        6  u32 fragment, u32 round, u32 seq, u32 session, u8 outcome (0 merged, 1 rejected), reason
 *   broadcast  7  u32 fragment, u32 version, u32 epoch, u32 globalStep, f64 progress,
 *                 u8 precision (0 fp32, 1 fp16, 2 delta), then f32[] values or f16[] values, or for
 *                 delta: u32 baseVersion, u8 codec, bytes payload                (38 bytes + payload)
 *   heartbeat  8  u32 t, f64 nowMs
 *   status    11  u32 globalStep, f64 loss, u32 learners, f64 learnerTokens, f64 yourTokens
 *   bye        9  (nothing)
 *   reject    10  reason, str detail
 *   backend   12  str backend
 *
 * The encoding is canonical: every frame the decoder accepts re-encodes to the same bytes.
 */
import { ConfigError, REASONS } from '../result';
import { LR_FIELDS } from '../schedule';
import { NO_LIMITS } from './limits';
import { HEADER_BYTES, MAGIC0, MAGIC1, NO_REASON, PROTOCOL_VERSION, TYPE_CODES } from './messages';
import type { Message } from './messages';
import { validateMessage } from './validate';
import { Writer } from './wire';

export const OUTCOME_CODES = { merged: 0, rejected: 1 } as const;
export const PRECISION_CODES = { fp32: 0, fp16: 1, delta: 2 } as const;

function reasonCode(r: string | null): number {
  if (r === null) return NO_REASON;
  const i = (REASONS as readonly string[]).indexOf(r);
  if (i < 0) throw new ConfigError(`unknown reason ${r}`);
  return i;
}

function writeMessage(w: Writer, m: Message): void {
  w.u8(MAGIC0);
  w.u8(MAGIC1);
  w.u8(PROTOCOL_VERSION);
  w.u8(TYPE_CODES[m.type]);
  switch (m.type) {
    case 'hello':
      w.str(m.runId);
      w.str(m.learnerId);
      w.u32(m.session);
      w.str(m.layoutHash);
      w.u32(m.tokensPerStep);
      w.str(m.backend);
      w.u8(m.uplinkCodec);
      return;
    case 'snapshot':
      w.str(m.runId);
      w.u32(m.epoch);
      w.u32(m.globalStep);
      w.f64(m.progress);
      w.u32(m.config.P);
      w.u32(m.config.H);
      w.u32(m.config.tau);
      w.u32(m.config.K);
      w.u8(m.config.uplinkCodec);
      w.u32(m.config.blockSize);
      w.u8(m.config.lockstep ? 1 : 0);
      for (const k of LR_FIELDS) w.f64(m.config.lr[k]);
      w.u32(m.config.tokensPerStep);
      w.u32Array(m.versions);
      w.f32Array(m.params);
      return;
    case 'meta':
      w.u32(m.t);
      w.u32Array(m.cSteps);
      w.f64Array(m.cTokens);
      w.f64(m.stepMs);
      w.u32Array(m.versions);
      return;
    case 'pull':
      w.u32(m.fragment);
      w.u32(m.round);
      return;
    case 'push':
      w.u32(m.fragment);
      w.u32(m.round);
      w.u32(m.epoch);
      w.u32(m.baseVersion);
      w.u32(m.seq);
      w.u32(m.t);
      w.u32(m.cSteps);
      w.f64(m.cTokens);
      w.u8(m.codec);
      w.bytesArray(m.payload);
      return;
    case 'ack':
      w.u32(m.fragment);
      w.u32(m.round);
      w.u32(m.seq);
      w.u32(m.session);
      w.u8(OUTCOME_CODES[m.outcome]);
      w.u8(reasonCode(m.reason));
      return;
    case 'broadcast':
      w.u32(m.fragment);
      w.u32(m.version);
      w.u32(m.epoch);
      w.u32(m.globalStep);
      w.f64(m.progress);
      w.u8(PRECISION_CODES[m.precision]);
      if (m.precision === 'delta') {
        w.u32(m.baseVersion);
        w.u8(m.codec);
        w.bytesArray(m.payload);
      } else if (m.precision === 'fp16') w.f16Array(m.values);
      else w.f32Array(m.values);
      return;
    case 'heartbeat':
      w.u32(m.t);
      w.f64(m.nowMs);
      return;
    case 'bye':
      return;
    case 'status':
      w.u32(m.globalStep);
      w.f64(m.loss);
      w.u32(m.learners);
      w.f64(m.learnerTokens);
      w.f64(m.yourTokens);
      return;
    case 'reject':
      w.u8(reasonCode(m.reason));
      w.str(m.detail);
      return;
    case 'backend':
      w.str(m.backend);
      return;
  }
}

/**
 * Encode one message. Our own messages are trusted, so a message that breaks the value rules
 * (see validate.ts: a NaN, a non-u32 counter, a non-ASCII id, an fp16 overflow) is a programmer
 * error and throws ConfigError rather than putting bytes on the wire that every peer would refuse.
 */
export function encodeMessage(m: Message): Uint8Array {
  const v = validateMessage(m, NO_LIMITS);
  if (!v.ok) throw new ConfigError(`cannot encode ${m.type}: ${v.reason}: ${v.detail}`);
  const measure = new Writer(null);
  writeMessage(measure, m);
  const out = new Uint8Array(measure.pos);
  const w = new Writer(out);
  writeMessage(w, m);
  if (w.pos !== out.length || out.length < HEADER_BYTES) throw new ConfigError(`encoder wrote ${w.pos} of ${out.length} bytes`);
  return out;
}
