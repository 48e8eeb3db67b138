import type { LearnerRecord } from './learners';
import type { Round } from './round';

/**
 * Pulling again a learner whose push is overdue (docs/fault-tolerance.md §2). A push lost on the way (a
 * lossy link, the chaos panel's drop) used to hold its round for the whole round timeout (30 s). At 20%
 * loss both of two tabs' pushes are lost in 4% of rounds, and the other fragment cycles a round every
 * ≈ 150 ms, so within seconds both rounds in flight (τ = 2) were stuck and commits stopped for 30–60 s at a
 * time. A learner pulled again for a round it pushed sends that same push again (same seq), and the
 * syncer answers a push once (dedupe): a pull repeated in error costs one resend and changes nothing.
 *
 * When, as TCP retransmits (RFC 6298): after the learner's response-time bound (srtt + 4·rttvar, grace.ts),
 * at least REPULL_MIN_MS and two of its steps (a pull that waits for a readback is answered after the step
 * in flight), doubling each time. Only a learner heard from at least HEARD_AFTER_MS after its last pull
 * is pulled again. A silent one is busy, or its push is still on the way: on an ordered link what it sent
 * after the push waits behind it, so a slow upload (≈2 s for 250 KB at 1 Mb/s) is not mistaken for a
 * lost one by the METAs that were already on their way when the pull reached it. A gone one is dropped
 * by the heartbeat deadline.
 */
export const REPULL_MIN_MS = 1000;
export const HEARD_AFTER_MS = 500;

/** How long (ms) after its last pull learner l is pulled again, the `n`-th time (n = 0 for the first re-pull). */
export function repullAfterMs(l: Pick<LearnerRecord, 'response' | 'stepMs'>, slackMs: number, n: number): number {
  const base = Math.max(REPULL_MIN_MS, l.response.bound(slackMs) ?? 0, 2 * (l.stepMs ?? 0));
  return base * 2 ** n;
}

/** The learners round r is still waiting for whose push is overdue at `now`; marks each as pulled again. */
export function overdue(r: Round, learners: ReadonlyMap<string, LearnerRecord>, slackMs: number, now: number): string[] {
  const out: string[] = [];
  r.repulls ??= new Map();
  for (const id of r.waitingFor) {
    const l = learners.get(id), last = r.repulls.get(id), pulledAt = last?.at ?? r.pulledAt.get(id);
    if (!l?.connected || pulledAt === undefined || l.lastSeen < pulledAt + HEARD_AFTER_MS) continue;
    if (now - pulledAt < repullAfterMs(l, slackMs, last?.n ?? 0)) continue;
    r.repulls.set(id, { n: (last?.n ?? 0) + 1, at: now });
    out.push(id);
  }
  return out;
}
