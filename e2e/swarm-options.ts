/**
 * The comparison flags of `npm run swarm` (issue #9), parsed and checked before anything starts:
 *   --method decoupled|diloco|dp  decoupled: quorum --K (default 1); diloco: synchronous DiLoCo, K = --learners,
 *                              lockstep; dp: fp32 data-parallel through the same pages (docs/method.md §9)
 *   --link-mbps N              cap each learner link at N megabits/s, both directions (the pages' linkMbps)
 *   --throttle p%:Nx           that share of the learner tabs trains N times slower (the pages' slowdown)
 *   --tokens N                 planned tokens of the LR clock; default: plannedTokens() below
 *   --downlink int8|int4|fp16|fp32  the broadcast codec (the coordinator's `downlink`), decoupled and diloco only
 * Pure: swarm.ts turns the errors into a message and exit code 2.
 */

import { DOWNLINKS, type Downlink } from '@tabswarm/core';

export type Method = 'decoupled' | 'diloco' | 'dp';
export const METHODS: readonly Method[] = ['decoupled', 'diloco', 'dp'];

export function parseMethod(v: string): Method {
  if (!(METHODS as readonly string[]).includes(v)) throw new Error(`--method ${v}: unknown method (known: ${METHODS.join(', ')})`);
  return v as Method;
}

/** Learner tabs: a whole number ≥ 1. */
export function parseLearners(v: string): number {
  if (!/^[1-9]\d*$/.test(v)) throw new Error(`--learners ${v}: want a whole number >= 1`);
  return Number(v);
}

/** The merge quorum K: --K for decoupled (default 1); every learner for diloco and dp, where --K must agree if given. */
export function quorum(method: Method, K: string | undefined, learners: number): number {
  if (K !== undefined && !/^[1-9]\d*$/.test(K)) throw new Error(`--K ${K}: want a whole number >= 1`);
  if (method === 'decoupled') return K === undefined ? 1 : Number(K);
  if (K !== undefined && Number(K) !== learners) throw new Error(`--method ${method} waits for every learner (K = --learners = ${learners}); drop --K ${K}`);
  return learners;
}

/**
 * The coordinator URL parameters a method sets, on top of the run's own (docs/method.md §9). Synchronous
 * DiLoCo is the same fragments and H with every learner in every merge, each waiting for its broadcast
 * (lockstep). Data-parallel syncs every step: one fragment, H = 1, fp32 both ways, and an outer step of
 * η = 1, μ = 0 over the plain mean, so Θ becomes the learners' mean after each step: all-reduce of the
 * AdamW updates, with one round trip per step. P and H given on the command line apply to decoupled and
 * diloco only.
 */
export function methodParams(method: Method, K: number, o: { P: string; H: string }): Record<string, string> {
  if (method === 'decoupled') return { P: o.P, H: o.H, K: String(K) };
  if (method === 'diloco') return { P: o.P, H: o.H, K: String(K), lockstep: '1' };
  return { P: '1', H: '1', tau: '1', K: String(K), lockstep: '1', codec: '0', downlink: 'fp32', grace: 'off', merge: 'mean', outer: 'nesterov', outerLr: '1', momentum: '0' };
}

/** The downlink codec (--downlink) for decoupled and diloco; dp is fp32 both ways by definition. */
export function parseDownlink(method: Method, v: string | undefined): Record<string, string> {
  if (v === undefined) return {};
  if (!DOWNLINKS.includes(v as Downlink)) throw new Error(`--downlink ${v}: want one of ${DOWNLINKS.join(', ')}`);
  if (method === 'dp') throw new Error('--method dp sends fp32 both ways: drop --downlink');
  return { downlink: v };
}

/** A positive finite number, for --link-mbps and --tokens. */
export function parsePositive(flag: string, v: string): number {
  const n = Number(v);
  if (!(v.trim() !== '' && Number.isFinite(n) && n > 0)) throw new Error(`--${flag} ${v}: want a positive number`);
  return n;
}

export interface Throttle {
  /** Share of the learner tabs slowed, in (0, 1]. */
  share: number;
  /** How many times slower they train, ≥ 1. */
  slowdown: number;
}

export function parseThrottle(spec: string): Throttle {
  const m = /^(\d+(?:\.\d+)?)%:(\d+(?:\.\d+)?)x$/.exec(spec);
  const share = m ? Number(m[1]) / 100 : NaN, slowdown = m ? Number(m[2]) : NaN;
  if (!(share > 0 && share <= 1 && slowdown >= 1)) throw new Error(`--throttle ${spec}: want <percent>%:<factor>x with a percent in (0, 100] and a factor >= 1, e.g. 50%:2x`);
  return { share, slowdown };
}

/**
 * Slowdown of the tab opened i-th (from 0, fresh tabs after a kill included): deterministic and evenly
 * spread, tab i is slowed when ⌊(i + 1)·share⌋ > ⌊i·share⌋. 50% slows every other tab (#1, #3, …);
 * 100% slows all of them.
 */
export function slowdownOf(t: Throttle | undefined, i: number): number {
  if (!t) return 1;
  const n = (k: number): number => Math.floor(k * t.share + 1e-9); // 1e-9: 3 × 0.333… is 1, not 0.999…
  return n(i + 1) > n(i) ? t.slowdown : 1;
}

/**
 * Measured on the 2-core development machine (digits/default, batch 8, K = 1, 3 learners, P = 2, H = 64;
 * a fresh 3-minute `npm run swarm`, 2026-12-02): the learners together trained 143.0 steps/s from 30 s on
 * (CPU-bound, so about the same for any tab count), starting 22 s after the coordinator served (tabs opening
 * and probing their backends), and 97.0% of the trained tokens were merged (175,084 of 180,552): the grace
 * window merges every live learner (docs/method.md §4).
 */
const THROUGHPUT: Record<string, { stepsPerS: number; startS: number; mergedShare: number }> = {
  'digits/default': { stepsPerS: 143.0, startS: 22, mergedShare: 0.97 },
};

/**
 * Planned tokens for the LR clock, so that warmup and the cosine decay complete within the run. The
 * coordinator's progress is merged tokens / planned tokens (docs/method.md §3), so this predicts merged
 * tokens: steps/s × batch (digits: one token per example) × training seconds × the share merged.
 * Undefined when nothing was measured for the workload: the coordinator's default applies (pass --tokens).
 */
export function plannedTokens(o: { workload: string; model: string; batch: number; runS: number }): number | undefined {
  const m = THROUGHPUT[`${o.workload}/${o.model}`];
  if (!m) return undefined;
  return Math.max(1, Math.round(m.stepsPerS * o.batch * Math.max(0, o.runS - m.startS) * m.mergedShare));
}
