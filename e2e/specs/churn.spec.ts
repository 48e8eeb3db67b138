import type { BrowserContext, Page } from '@playwright/test';
import { lossNear, type LossPoint } from '@tabswarm/core';
import { expect, test, type CoordinatorView, type LearnerView } from '@tabswarm/testing';

// Issue #4, churn (docs/fault-tolerance.md §6): kill half of the learner tabs every 30 s for 5 minutes, side by
// side with an identical run without faults, in the same browser at the same time (so both get the same
// CPU). Pass: commits never stop, zero acked updates lost, and the held-out loss at equal merged tokens is
// not significantly worse than the 5% target.
//
// One pair of runs cannot show "within 5%" on this machine: a single pair's gap varies by a few percent
// from run to run (below). The 5% claim is measured over seeds instead: `npm run sim -- --churn` (ten
// seeds, the same shape) and the pairs quoted below. This spec fails when one pair says, at 1%
// one-sided, that churn costs more than 5%: gap > 5% + 2.33 · s, with s the spread of single-pair gaps
// measured here. A churned run that comes out better is noise, not lost work, so only this side is tested.
// CHURN_MINUTES shortens it for local iteration.
const minutes = Number(process.env.CHURN_MINUTES ?? 5);
const LEARNERS = 4;
// Gaps of seven pairs on this machine (2 cores, settings below): +1.35%, −0.63%, +5.40%, +6.15%, +2.35%,
// −2.39% and −7.77%. That is a mean of +0.6% (95% CI −3.8% … +5.1%) and s = 4.8%. The fault-free loss was
// 0.2635, 0.2659, 0.2572, 0.2400, 0.2577, 0.2635 and 0.2617 (σ 3.4%).
const PAIR_GAP_SD = 0.048;
const GAP_LIMIT = 0.05 + 2.33 * PAIR_GAP_SD;
// K=2: a merge waits for two pushes (of 4 learners), so one fast tab does not supersede everyone's work.
// 36k planned tokens: both runs merge 42k–57k in 5 min here, so both end on the schedule's floor learning
// rate. Annealed, one evaluation differs from the next by about 1%; at the peak rate it was about 10%.
const common = { workload: 'digits', P: '2', H: '16', K: '2', evalMs: '4000', tokens: '36000' };

/** The coordinator's curve on the core's axis: its `tokens` are merged tokens. */
const merged = (curve: CoordinatorView['loss']): LossPoint[] => curve.map((p) => ({ merged: p.tokens, loss: p.loss }));

test(`killing half the learner tabs every 30 s for ${minutes} min: no stall, nothing acked lost, loss not significantly over 5% worse than a fault-free run`, async ({ swarm }) => {
  test.setTimeout((minutes + 8) * 60_000);
  const runs = { chaos: `${swarm.run.run}c`, calm: `${swarm.run.run}q` };
  const chaos = await swarm.coordinator({ ...common, run: runs.chaos });
  const calm = await swarm.coordinator({ ...common, run: runs.calm });
  const tabs: Array<{ page: Page; context: BrowserContext }> = [];
  for (let i = 0; i < LEARNERS; i++) {
    tabs.push(await swarm.learner({ workload: 'digits', backend: 'wasm', run: runs.chaos }));
    await swarm.learner({ workload: 'digits', backend: 'wasm', run: runs.calm });
  }
  await swarm.until<CoordinatorView>(chaos, (c) => c.commitSeq >= 3, 'the chaos run under way', 180_000);
  const acked = new Set<string>();
  const collect = async (t: { page: Page }): Promise<void> => { for (const k of (await swarm.status<LearnerView>(t.page)).mergedKeys) acked.add(k); };
  const started = Date.now();
  let killed = 0, lastCommit = (await swarm.status<CoordinatorView>(chaos)).commitSeq;
  for (let round = 1; Date.now() - started < minutes * 60_000; round++) {
    // The next kill comes 30 s after the previous one; meanwhile the run must keep committing.
    const next = started + round * 30_000;
    const s = await swarm.until<CoordinatorView>(chaos, (c) => c.commitSeq > lastCommit && Date.now() >= next, `commits in the 30 s before kill ${round}`, 60_000);
    lastCommit = s.commitSeq;
    const victims = tabs.splice(0, LEARNERS / 2); // the oldest half: every tab dies within a minute of joining
    for (const v of victims) { await collect(v); await v.context.close(); killed++; }
    for (let i = 0; i < victims.length; i++) tabs.push(await swarm.learner({ workload: 'digits', backend: 'wasm', run: runs.chaos }));
  }
  for (const t of tabs) await collect(t);
  const [a, b] = [await swarm.status<CoordinatorView>(chaos), await swarm.status<CoordinatorView>(calm)];
  const tokens = Math.min(a.loss.at(-1)!.tokens, b.loss.at(-1)!.tokens);
  const [la, lb] = [lossNear(merged(a.loss), tokens), lossNear(merged(b.loss), tokens)];
  const gap = (la - lb) / lb;
  // docs/fault-tolerance.md §6 also reports the gap at equal wall time: both runs' own last 20%, same 5 minutes.
  const [wa, wb] = [lossNear(merged(a.loss), a.loss.at(-1)!.tokens), lossNear(merged(b.loss), b.loss.at(-1)!.tokens)];
  const g = a.goodput;
  console.log(`churn: ${killed} tabs killed in ${minutes} min; goodput ${(100 * (g.ratio ?? 0)).toFixed(1)}% (merged ${g.merged.toFixed(0)} of ${g.trained.toFixed(0)} trained tokens; stale ${g.stale.toFixed(0)}, superseded ${g.superseded.toFixed(0)}, killed or lost ${g.killedOrLost.toFixed(0)}); `
    + `filtered ${g.filtered.toFixed(0)} vs ${b.goodput.filtered.toFixed(0)} fault-free; fault-free goodput ${(100 * (b.goodput.ratio ?? 0)).toFixed(1)}%; downtime ${a.downtimeMs} ms; loss at ${tokens.toFixed(0)} merged tokens: ${la.toFixed(4)} vs ${lb.toFixed(4)} (gap ${(100 * gap).toFixed(2)}%); at equal wall time ${wa.toFixed(4)} vs ${wb.toFixed(4)} (gap ${(100 * (wa - wb) / wb).toFixed(2)}%); commits ${a.commitSeq} vs ${b.commitSeq}`);
  await test.info().attach('loss-curves.json', { body: JSON.stringify({ churned: a.loss, faultFree: b.loss, tokens, gap }), contentType: 'application/json' });
  expect(a.downtimeMs, 'global downtime').toBe(0);
  expect(gap, `loss gap at equal merged tokens (limit: 5% + 2.33 × the single-pair spread = ${(100 * GAP_LIMIT).toFixed(1)}%)`).toBeLessThan(GAP_LIMIT);
  // Zero acked updates lost: every push a learner (killed or not) was told was merged is in the durable log.
  const logged = new Set(await chaos.evaluate(async () => {
    const d = (window as unknown as { __coordinator: { store: { log(): Promise<{ entries: Array<{ contributors: Array<{ id: string; session: number; seq: number }> }> }> } } }).__coordinator;
    return (await d.store.log()).entries.flatMap((e) => e.contributors.map((k) => `${k.id}/${k.session}/${k.seq}`));
  }));
  expect([...acked].filter((k) => !logged.has(k))).toEqual([]);
  expect(acked.size).toBeGreaterThan(20);
});
