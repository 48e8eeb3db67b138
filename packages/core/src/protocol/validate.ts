/**
 * Semantic checks shared by the decoder (untrusted bytes, receiver limits) and the encoder (our own
 * messages, NO_LIMITS): integer ranges, string charsets, finiteness of every float, [0,1] progress,
 * cross-field consistency. Returns a Result; never throws. Order inside a message: `oversized` for
 * array lengths, then `non-finite`, then `bad-field`, so a field that is both NaN and out of range
 * reports `non-finite`.
 */
import { REASONS, fail, ok } from '../result';
import type { Reason, Result } from '../result';
import { LR_FIELDS, lrScheduleError } from '../schedule';
import type { Limits } from './limits';
import { BACKEND_MAX, DETAIL_MAX, ID_MAX, U32_MAX } from './messages';
import type { Message, SnapshotConfig } from './messages';

const isU32 = (v: number): boolean => Number.isInteger(v) && v >= 0 && v <= U32_MAX;
const isU8 = (v: number): boolean => Number.isInteger(v) && v >= 0 && v <= 0xff;

/** [A-Za-z0-9_-], 1..max characters. */
function isId(s: string, max: number): boolean {
  if (typeof s !== 'string' || s.length < 1 || s.length > max) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const okChar =
      (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f || c === 0x2d;
    if (!okChar) return false;
  }
  return true;
}

/** Printable ASCII 0x20..0x7e, 0..max characters. */
function isText(s: string, max: number): boolean {
  if (typeof s !== 'string' || s.length > max) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

/** Collects the first problem; later checks are skipped once one is found. */
class Check {
  problem: { reason: Reason; detail: string } | null = null;

  that(cond: boolean, reason: Reason, detail: string): void {
    if (this.problem === null && !cond) this.problem = { reason, detail };
  }
  u32(v: number, what: string): void {
    this.that(isU32(v), 'bad-field', `${what}: ${v} is not a u32`);
  }
  u8(v: number, what: string): void {
    this.that(isU8(v), 'bad-field', `${what}: ${v} is not a u8`);
  }
  id(s: string, max: number, what: string): void {
    this.that(isId(s, max), 'bad-field', `${what}: not 1..${max} characters of [A-Za-z0-9_-]`);
  }
  finite(v: number, what: string): void {
    this.that(Number.isFinite(v), 'non-finite', `${what}: ${v}`);
  }
  /** Finite and ≥ 0 (token counts, step times). */
  amount(v: number, what: string): void {
    this.finite(v, what);
    this.that(v >= 0, 'bad-field', `${what}: ${v} is negative`);
  }
  progress(v: number): void {
    this.finite(v, 'progress');
    this.that(v >= 0 && v <= 1, 'bad-field', `progress: ${v} outside [0, 1]`);
  }
  fragment(v: number, limits: Limits): void {
    this.u32(v, 'fragment');
    this.that(v < limits.maxFragments, 'bad-field', `fragment: ${v} not below ${limits.maxFragments}`);
  }
  length(n: number, limit: number, what: string): void {
    this.that(n <= limit, 'oversized', `${what}: length ${n} above limit ${limit}`);
  }
  floats(a: Float32Array, what: string): void {
    if (this.problem !== null) return;
    for (let i = 0; i < a.length; i++) {
      const v = a[i] ?? NaN;
      if (v - v !== 0) {
        this.problem = { reason: 'non-finite', detail: `${what}[${i}]: ${v}` };
        return;
      }
    }
  }
  reason(r: unknown, what: string): void {
    this.that(typeof r === 'string' && (REASONS as readonly string[]).includes(r), 'bad-field', `${what}: not a known reason`);
  }
}

function checkConfig(c: Check, cfg: SnapshotConfig, limits: Limits): void {
  for (const k of ['P', 'H', 'tau', 'K', 'blockSize', 'tokensPerStep'] as const) {
    c.u32(cfg[k], `config.${k}`);
    c.that(cfg[k] >= 1, 'bad-field', `config.${k}: must be at least 1`);
  }
  c.that(cfg.P <= limits.maxFragments, 'bad-field', `config.P: ${cfg.P} above ${limits.maxFragments}`);
  c.u8(cfg.uplinkCodec, 'config.uplinkCodec');
  c.that(typeof cfg.lockstep === 'boolean', 'bad-field', 'config.lockstep: not a boolean');
  for (const k of LR_FIELDS) c.finite(cfg.lr[k], `config.lr.${k}`);
  const why = lrScheduleError(cfg.lr);
  c.that(why === undefined, 'bad-field', `config.lr: ${why ?? ''}`);
}

/** Check a message against the protocol's value rules and the given limits. */
export function validateMessage(m: Message, limits: Limits): Result<Message> {
  const c = new Check();
  switch (m.type) {
    case 'hello':
      c.id(m.runId, ID_MAX, 'runId');
      c.id(m.learnerId, ID_MAX, 'learnerId');
      c.u32(m.session, 'session');
      c.id(m.layoutHash, ID_MAX, 'layoutHash');
      c.u32(m.tokensPerStep, 'tokensPerStep');
      c.that(m.tokensPerStep >= 1, 'bad-field', 'tokensPerStep: must be at least 1');
      c.id(m.backend, BACKEND_MAX, 'backend');
      c.u8(m.uplinkCodec, 'uplinkCodec');
      break;
    case 'snapshot':
      c.length(m.versions.length, limits.maxFragments, 'versions');
      c.length(m.params.length, limits.maxParams, 'params');
      c.finite(m.progress, 'progress');
      c.floats(m.params, 'params');
      c.id(m.runId, ID_MAX, 'runId');
      c.u32(m.epoch, 'epoch');
      c.u32(m.globalStep, 'globalStep');
      c.progress(m.progress);
      checkConfig(c, m.config, limits);
      c.that(m.versions.length === m.config.P, 'bad-field', `versions: ${m.versions.length} entries for P = ${m.config.P}`);
      m.versions.forEach((v, i) => c.u32(v, `versions[${i}]`));
      break;
    case 'meta':
      c.length(m.cSteps.length, limits.maxFragments, 'cSteps');
      c.length(m.cTokens.length, limits.maxFragments, 'cTokens');
      c.u32(m.t, 't');
      m.cTokens.forEach((v, i) => c.finite(v, `cTokens[${i}]`));
      c.finite(m.stepMs, 'stepMs');
      c.length(m.versions.length, limits.maxFragments, 'versions');
      c.that(m.cSteps.length === m.cTokens.length && m.cSteps.length === m.versions.length, 'bad-field',
        `cSteps/cTokens/versions: lengths ${m.cSteps.length}, ${m.cTokens.length} and ${m.versions.length}`);
      m.versions.forEach((v, i) => c.u32(v, `versions[${i}]`));
      m.cSteps.forEach((v, i) => c.u32(v, `cSteps[${i}]`));
      m.cTokens.forEach((v, i) => c.amount(v, `cTokens[${i}]`));
      c.amount(m.stepMs, 'stepMs');
      break;
    case 'pull':
      c.fragment(m.fragment, limits);
      c.u32(m.round, 'round');
      break;
    case 'push':
      c.length(m.payload.length, limits.maxPayload, 'payload');
      c.finite(m.cTokens, 'cTokens');
      c.fragment(m.fragment, limits);
      c.u32(m.round, 'round');
      c.u32(m.epoch, 'epoch');
      c.u32(m.baseVersion, 'baseVersion');
      c.u32(m.seq, 'seq');
      c.u32(m.t, 't');
      c.u32(m.cSteps, 'cSteps');
      c.amount(m.cTokens, 'cTokens');
      c.u8(m.codec, 'codec');
      break;
    case 'ack':
      c.fragment(m.fragment, limits);
      c.u32(m.round, 'round');
      c.u32(m.seq, 'seq');
      c.u32(m.session, 'session');
      c.that(m.outcome === 'merged' || m.outcome === 'rejected', 'bad-field', 'outcome: not merged/rejected');
      if (m.outcome === 'rejected') c.reason(m.reason, 'reason');
      else c.that(m.reason === null, 'bad-field', 'reason: must be null when merged');
      break;
    case 'broadcast':
      if (m.precision === 'delta') c.length(m.payload.length, limits.maxPayload, 'payload');
      else c.length(m.values.length, limits.maxParams, 'values');
      c.finite(m.progress, 'progress');
      if (m.precision !== 'delta') c.floats(m.values, 'values');
      c.fragment(m.fragment, limits);
      c.u32(m.version, 'version');
      c.u32(m.epoch, 'epoch');
      c.u32(m.globalStep, 'globalStep');
      c.progress(m.progress);
      c.that(m.precision === 'fp32' || m.precision === 'fp16' || m.precision === 'delta', 'bad-field', 'precision: not fp32/fp16/delta');
      if (m.precision === 'delta') {
        c.u32(m.baseVersion, 'baseVersion');
        c.that(m.baseVersion < m.version, 'bad-field', `baseVersion: ${m.baseVersion} not below version ${m.version}`);
        c.u8(m.codec, 'codec');
      }
      break;
    case 'heartbeat':
      c.finite(m.nowMs, 'nowMs');
      c.u32(m.t, 't');
      break;
    case 'bye':
      break;
    case 'status':
      c.u32(m.globalStep, 'globalStep');
      c.finite(m.loss, 'loss');
      c.amount(m.loss, 'loss');
      c.u32(m.learners, 'learners');
      c.amount(m.learnerTokens, 'learnerTokens');
      c.amount(m.yourTokens, 'yourTokens');
      break;
    case 'reject':
      c.reason(m.reason, 'reason');
      c.that(isText(m.detail, DETAIL_MAX), 'bad-field', `detail: not printable ASCII of at most ${DETAIL_MAX} characters`);
      break;
    case 'backend':
      c.id(m.backend, BACKEND_MAX, 'backend');
      break;
    default: {
      const never: never = m;
      return fail('unknown-type', `type ${String((never as { type?: unknown }).type)}`);
    }
  }
  return c.problem === null ? ok(m) : fail(c.problem.reason, c.problem.detail);
}
