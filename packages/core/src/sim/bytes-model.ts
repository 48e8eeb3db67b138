import { fullPrecision, quantizationOf, type Downlink } from '../downlink';
import { getCodec } from '../codecs';
import { encodeMessage, type Message } from '../protocol';
import { expectedMaxNormal } from './normal-max';
import type { Timings } from './timings';

/**
 * The analytic bytes per learner step of Decoupled DiLoCo (docs/method.md §6), to check the simulator's
 * count against. Every learner sends one META per step; each of the P fragments is pulled once every
 * `stepsPerPull` of its steps (H in the ideal), and then the learner receives the pull, sends a push, gets
 * an ack and receives the commit's broadcast. Per learner step that is
 *   META + Σ_p (pull + push_p + ack + broadcast_p) / stepsPerPull
 * ≈ META + params · (uplink B/param + downlink B/param) / H + 3 small frames · P / H.
 * Frame sizes come from encoding those messages (a payload's size does not depend on its values), so the
 * prediction tests the schedule (every learner in every merge, once per pull), not the encoders.
 */
export interface LinkPlan {
  /** Elements of each fragment (planFragments(...).map((f) => f.size)). */
  fragmentSizes: readonly number[];
  uplinkCodec: number;
  blockSize: number;
  downlink: Downlink;
}

export interface LinkBytes {
  /** One META (bytes): sent every step. */
  metaPerStep: number;
  /** Pull, push, ack and broadcast of every fragment once (bytes): one learner's share of P merges. */
  perPullOfEach: number;
  /** Payload bytes per parameter, frames excluded: the push's codec bytes, and the broadcast's values or update. */
  upPerParam: number;
  downPerParam: number;
}

export function linkBytes(plan: LinkPlan): LinkBytes {
  const P = plan.fragmentSizes.length;
  const zeros = (n: number): number[] => new Array<number>(n).fill(0);
  const up = getCodec(plan.uplinkCodec);
  if (!up.ok) throw new RangeError(`uplink codec ${plan.uplinkCodec}: ${up.detail}`);
  const q = quantizationOf(plan.downlink, plan.blockSize);
  const down = q ? getCodec(q.codec) : null;
  if (down && !down.ok) throw new RangeError(`downlink codec ${q!.codec}: ${down.detail}`);
  const head = { type: 'broadcast', fragment: 0, version: 1, epoch: 0, globalStep: 0, progress: 0 } as const;
  const pull = size({ type: 'pull', fragment: 0, round: 0 });
  const ack = size({ type: 'ack', fragment: 0, round: 0, seq: 0, session: 0, outcome: 'merged', reason: null });
  let perPullOfEach = 0, upPayload = 0, downPayload = 0;
  for (const n of plan.fragmentSizes) {
    const values = new Float32Array(n);
    const pushed = up.value.encode(values, plan.blockSize);
    const update = down?.ok ? down.value.encode(values, plan.blockSize) : null;
    const push = size({ type: 'push', fragment: 0, round: 0, epoch: 0, baseVersion: 0, seq: 0, t: 0, cSteps: 1, cTokens: 0, codec: up.value.id, payload: pushed });
    const broadcast = size(update
      ? { ...head, precision: 'delta', baseVersion: 0, codec: q!.codec, payload: update }
      : { ...head, precision: fullPrecision(plan.downlink), values });
    perPullOfEach += pull + push + ack + broadcast;
    upPayload += pushed.length;
    downPayload += update ? update.length : (fullPrecision(plan.downlink) === 'fp16' ? 2 : 4) * n;
  }
  const params = plan.fragmentSizes.reduce((s, n) => s + n, 0);
  return {
    metaPerStep: size({ type: 'meta', t: 0, cSteps: zeros(P), cTokens: zeros(P), versions: zeros(P), stepMs: 0 }),
    perPullOfEach, upPerParam: upPayload / params, downPerParam: downPayload / params,
  };
}

/** Bytes per learner step when each fragment is pulled once every `stepsPerPull` steps. */
export function perStep(b: LinkBytes, stepsPerPull: number): number {
  return b.metaPerStep + b.perPullOfEach / stepsPerPull;
}

/**
 * Mean steps a learner takes between two pulls of one fragment at K = 1 (docs/method.md §4): the round
 * opens when the first of M learners has H steps on the fragment (each push carries its steps since the
 * previous one, so all M start level), and the others are behind it. H step periods sum to H·μ ± cv·√H·μ,
 * so the first of M gets there after H·μ − E[max of M standard normals]·cv·√H·μ, in which an average
 * learner takes H − E[max]·cv·√H steps: 10.9 at H = 12 with 3 learners at browser timings.
 */
export function stepsPerPull(H: number, learners: number, t: Timings): number {
  return H - expectedMaxNormal(learners) * stepPeriodCv(t) * Math.sqrt(H);
}

/** Coefficient of variation of one step period (train() time around the preset's median, plus the loop's overhead). */
export function stepPeriodCv(t: Timings): number {
  const m = t.stepMs, s = t.scatter;
  // lognormal m·e^(σZ): mean m·e^(σ²/2), variance m²·e^(σ²)·(e^(σ²) − 1); uniform m·(1 ± h): variance (2hm)²/12.
  const [mean, variance] = s.kind === 'lognormal'
    ? [m * Math.exp(s.sigma ** 2 / 2), m * m * Math.exp(s.sigma ** 2) * (Math.exp(s.sigma ** 2) - 1)]
    : [m, (2 * s.halfWidth * m) ** 2 / 12];
  return Math.sqrt(variance) / (mean + t.overheadMs);
}

const size = (m: Message): number => encodeMessage(m).length;
