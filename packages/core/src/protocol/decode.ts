/**
 * The strict decoder for untrusted frames (layout in encode.ts). Order of checks:
 *   1. `oversized`    the frame is longer than limits.maxBytes (before reading anything)
 *   2. header         `truncated` / `bad-magic` / `bad-version` / `unknown-type` (peek.ts)
 *   3. body           read straight through with a bounds-checked Reader: `truncated`; `oversized` for
 *                     an array length above its limit (before allocating); `bad-field` for an invalid
 *                     enum byte (outcome, precision, reason index) or non-zero padding
 *   4. `trailing-bytes` bytes left after the last field
 *   5. values         validate.ts: `oversized`, `non-finite`, then `bad-field`
 * Never throws; every float array is copied into memory the returned message owns.
 */
import { REASONS, fail, ok } from '../result';
import type { Reason, Result } from '../result';
import { DEFAULT_LIMITS } from './limits';
import type { Limits } from './limits';
import { HEADER_BYTES, NO_REASON } from './messages';
import type { AckOutcome, Message, MessageType, Precision } from './messages';
import { peekHeader } from './peek';
import { validateMessage } from './validate';
import { Reader } from './wire';

export { DEFAULT_LIMITS } from './limits';
export type { Limits } from './limits';

const OUTCOMES: readonly AckOutcome[] = ['merged', 'rejected'];
const PRECISIONS: readonly (Precision | 'delta')[] = ['fp32', 'fp16', 'delta'];

/** u8 reason index; 255 is "none" only where `allowNone`. */
function readReason(r: Reader, what: string, allowNone: boolean): Reason | null {
  const i = r.u8(what);
  if (r.failure !== null) return null;
  if (i === NO_REASON && allowNone) return null;
  const reason = REASONS[i];
  if (reason === undefined) {
    r.fail('bad-field', `${what}: reason index ${i} unknown`);
    return null;
  }
  return reason;
}

function readEnum<T>(r: Reader, what: string, values: readonly T[]): T {
  const i = r.u8(what);
  const v = values[i];
  if (v === undefined) {
    r.fail('bad-field', `${what}: byte ${i} invalid`);
    return values[0] as T;
  }
  return v;
}

function readBody(r: Reader, type: MessageType, lim: Limits): Message {
  switch (type) {
    case 'hello':
      return {
        type,
        runId: r.str('runId'),
        learnerId: r.str('learnerId'),
        session: r.u32('session'),
        layoutHash: r.str('layoutHash'),
        tokensPerStep: r.u32('tokensPerStep'),
        backend: r.str('backend'),
        uplinkCodec: r.u8('uplinkCodec'),
      };
    case 'snapshot':
      return {
        type,
        runId: r.str('runId'),
        epoch: r.u32('epoch'),
        globalStep: r.u32('globalStep'),
        progress: r.f64('progress'),
        config: {
          P: r.u32('config.P'),
          H: r.u32('config.H'),
          tau: r.u32('config.tau'),
          K: r.u32('config.K'),
          uplinkCodec: r.u8('config.uplinkCodec'),
          blockSize: r.u32('config.blockSize'),
          lockstep: r.flag('config.lockstep'),
          lr: { peak: r.f64('config.lr.peak'), warmup: r.f64('config.lr.warmup'), floor: r.f64('config.lr.floor'), start: r.f64('config.lr.start') },
          tokensPerStep: r.u32('config.tokensPerStep'),
        },
        versions: r.u32Array('versions', lim.maxFragments),
        params: r.f32Array('params', lim.maxParams),
      };
    case 'meta':
      return {
        type,
        t: r.u32('t'),
        cSteps: r.u32Array('cSteps', lim.maxFragments),
        cTokens: r.f64Array('cTokens', lim.maxFragments),
        stepMs: r.f64('stepMs'),
        versions: r.u32Array('versions', lim.maxFragments),
      };
    case 'pull':
      return { type, fragment: r.u32('fragment'), round: r.u32('round') };
    case 'push':
      return {
        type,
        fragment: r.u32('fragment'),
        round: r.u32('round'),
        epoch: r.u32('epoch'),
        baseVersion: r.u32('baseVersion'),
        seq: r.u32('seq'),
        t: r.u32('t'),
        cSteps: r.u32('cSteps'),
        cTokens: r.f64('cTokens'),
        codec: r.u8('codec'),
        payload: r.bytesArray('payload', lim.maxPayload),
      };
    case 'ack':
      return {
        type,
        fragment: r.u32('fragment'),
        round: r.u32('round'),
        seq: r.u32('seq'),
        session: r.u32('session'),
        outcome: readEnum(r, 'outcome', OUTCOMES),
        reason: readReason(r, 'reason', true),
      };
    case 'broadcast': {
      const fragment = r.u32('fragment');
      const version = r.u32('version');
      const epoch = r.u32('epoch');
      const globalStep = r.u32('globalStep');
      const progress = r.f64('progress');
      const precision = readEnum(r, 'precision', PRECISIONS);
      if (precision === 'delta') {
        const baseVersion = r.u32('baseVersion');
        const codec = r.u8('codec');
        return { type, fragment, version, epoch, globalStep, progress, precision, baseVersion, codec, payload: r.bytesArray('payload', lim.maxPayload) };
      }
      const values = precision === 'fp16' ? r.f16Array('values', lim.maxParams) : r.f32Array('values', lim.maxParams);
      return { type, fragment, version, epoch, globalStep, progress, precision, values };
    }
    case 'heartbeat':
      return { type, t: r.u32('t'), nowMs: r.f64('nowMs') };
    case 'bye':
      return { type };
    case 'status':
      return { type, globalStep: r.u32('globalStep'), loss: r.f64('loss'), learners: r.u32('learners'), learnerTokens: r.f64('learnerTokens'), yourTokens: r.f64('yourTokens') };
    case 'reject':
      return { type, reason: readReason(r, 'reason', false) ?? 'bad-field', detail: r.str('detail') };
    case 'backend':
      return { type, backend: r.str('backend') };
  }
}

/** Decode and validate one frame of untrusted bytes. */
export function decodeMessage(bytes: Uint8Array, limits: Limits = DEFAULT_LIMITS): Result<Message> {
  if (bytes.length > limits.maxBytes) return fail('oversized', `frame of ${bytes.length} bytes above limit ${limits.maxBytes}`);
  const header = peekHeader(bytes);
  if (!header.ok) return header;
  const r = new Reader(bytes, HEADER_BYTES);
  const m = readBody(r, header.value.type, limits);
  if (r.failure !== null) return fail(r.failure.reason, `${m.type}: ${r.failure.detail}`);
  if (r.pos !== bytes.length) return fail('trailing-bytes', `${m.type}: ${bytes.length - r.pos} bytes after the last field`);
  const v = validateMessage(m, limits);
  return v.ok ? ok(v.value) : fail(v.reason, `${m.type}: ${v.detail}`);
}
