import { getCodec } from '../codecs';
import { planFragments } from '../fragments';
import type { ParamLayout } from '../layout';
import { OUTER_MODES, type OuterChoice, type OuterConfig } from '../outer';
import { fail, ok, type Result } from '../result';
import type { SyncConfig } from './config';
import type { MergeLogEntry } from './events';
import { GlobalModel, type ModelState, exportModel } from './global-model';
import type { LogFrom } from './log-format';
import { mergeRound, rebuildLocal } from './merge-round';

/** Absent votes one entry may carry (merge-round.ts absentVotes: K minus the pushes); each costs a zero
 * vector of the fragment's size, so a corrupt log cannot ask for millions. */
const MAX_ABSENT = 4096;

/**
 * Rebuild the global model from θ₀ and the merge log alone (docs/method.md §5), θ₀ with `from`'s versions
 * and outer state for a log that starts from a model file or a saved state: every entry's
 * contributions are decoded from their logged payloads against the logged base versions and merged with
 * the logged weights, through the same code the syncer ran, with each entry's logged downlink
 * quantisation (merge-round.ts), logged outer step (outer-policy.ts) and logged absent votes, whatever
 * the replaying config says. Same inputs, same bits.
 *
 * Fails (with a reason, never a throw) when the log cannot have come from this run: a base version
 * outside the history ring, a payload that does not decode, a fragment out of range, a corrupt
 * quantisation or outer step, a start state that does not fit the model.
 */
export function replayLog(cfg: SyncConfig, layout: ParamLayout, theta0: Float32Array, log: Iterable<MergeLogEntry>, from?: LogFrom): Result<ModelState> {
  const fragments = planFragments(layout, cfg.P);
  if (theta0.length !== layout.totalSize) return fail('length-mismatch', `theta0 has ${theta0.length} values, the model ${layout.totalSize}`);
  const model = new GlobalModel(layout, fragments, theta0, cfg.outer, cfg.historyDepth);
  if (from) {
    try {
      model.restore({ theta: theta0, ...from });
    } catch (e) {
      return fail('length-mismatch', `the log's start state: ${(e as Error).message}`);
    }
  }
  let n = 0;
  for (const e of log) {
    n++;
    const f = fragments[e.fragment];
    if (!f) return fail('unknown-fragment', `entry ${n}: fragment ${e.fragment} of ${cfg.P}`);
    const cs = [];
    for (const k of e.contributors) {
      const base = model.at(e.fragment, k.baseVersion);
      if (!base) return fail('stale-base', `entry ${n}: base version ${k.baseVersion} of fragment ${e.fragment} is not in the history`);
      const codec = getCodec(k.codec);
      if (!codec.ok) return codec;
      const delta = codec.value.decode(k.payload, f.size);
      if (!delta.ok) return fail(delta.reason, `entry ${n}: ${delta.detail}`);
      cs.push({ local: rebuildLocal(base, delta.value), cSteps: k.cSteps, cTokens: k.cTokens });
    }
    if (cs.length === 0) return fail('bad-field', `entry ${n} has no contributors`);
    const outer = e.outer ?? unloggedOuter(cfg.outer);
    if (!OUTER_MODES.includes(outer.kind) || !Number.isInteger(outer.delayPeriod) || outer.delayPeriod < 1) {
      return fail('bad-field', `entry ${n}: outer step ${JSON.stringify(outer)} is not a mode with a period ≥ 1`);
    }
    const absent = e.absent ?? 0;
    if (!Number.isInteger(absent) || absent < 0 || absent > MAX_ABSENT) return fail('bad-field', `entry ${n}: ${absent} absent votes is not an integer in [0, ${MAX_ABSENT}]`);
    const m = mergeRound(model, e.fragment, cs, e.contributors.map((k) => k.weight), e.version, cfg, e.quantized ?? null, outer, absent);
    if (!m.ok) return fail(m.reason, `entry ${n}: ${m.detail}`);
  }
  return ok(exportModel(model));
}

/** The step of an entry logged before merges recorded theirs: the forced mode of the run's config, and
 * Nesterov for 'auto' (the default of every run that wrote such a log). */
function unloggedOuter(cfg: OuterConfig): OuterChoice {
  return cfg.kind === 'delayed-nesterov' ? { kind: 'delayed-nesterov', delayPeriod: cfg.delayPeriod } : { kind: 'nesterov', delayPeriod: 1 };
}
