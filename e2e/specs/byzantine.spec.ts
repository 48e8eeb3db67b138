import type { Page } from '@playwright/test';
import { expect, test, type CoordinatorView, type LearnerView } from '@tabswarm/testing';

// Issue 10, a Byzantine minority in real tabs: 2 of 6 learner tabs are the classroom demo of a hostile tab
// (`byzantine=4`: they train honestly, then push −4 × their update, under the 8× norm cap, and claim 2H
// steps at the run's batch, the most a push may weigh). Three runs of the same shape, one after another:
// all honest, attacked with the default merge, attacked with merge=centered-clip. Each is read at the
// first evaluation after its learners trained STEPS steps in all (claimed tokens would favour the
// attackers), and the attackers' weight comes from the coordinator's durable merge log.
// K = 5 (= 2f + 1 for f = 2 attackers): with merge=centered-clip the quorum is strict (core config.ts
// strictQuorum: no round opens before 5 learners are due, the hostile tabs opened first included) and every
// push weighs the same, so each merge's honest tabs are the majority of its learners and of its weight.
// Measured (2026-12-02, three runs, docs/fault-tolerance.md §3): honest 0.4135 / 0.4268 / 0.4748; rda
// attacked 2.343 / 466.7 / 2.316; centered-clip attacked 0.6024 (+45.7%) / 0.5064 (+18.7%) / 0.3940
// (−17.0%); before the strict quorum and equal weights 42.27 (+8882%). Attackers' weight: centered-clip
// exactly their share of every merge (1.000×, 0.324 / 0.329 / 0.338 on average over 77 / 88 / 99 merges,
// fewest contributors 3 / 3 / 4); rda 0.443 / 0.451 / 0.485 on average, worst 1.150× each time (its token
// weights, and the relaxed quorum, which lets the two hostile tabs alone merge the run's first rounds).
const shape = { workload: 'digits', P: '2', H: '8', evalMs: '2000', tokens: '200000', K: '5' };
const STEPS = 3000;
/** centered-clip: every push weighs 1, so the attackers hold exactly their share of each merge's learners. */
const EQUAL = 1 + 1e-9;
/** rda keeps token weights under the lighter-half cap: measured worst 1.09–1.198× their share over 22 runs (bound 1.3×). */
const RDA_MAX_EXCESS = 1.3;
/** The robust merge: held-out loss at most this far above the honest run's (measured −47.8% to +54.2% over 22
 * runs; bound +100%, against +59.8% to +110,243% for rda in the same runs and +8882% for centered-clip before). */
const ROBUST_MAX_GAP = 1.0;

type View = CoordinatorView & { learnerSteps: number };
interface Shares { merges: number; withAttackers: number; meanShare: number; worstExcess: number; fewest: number; absentVotes: number; belowK: number; absentWrong: number }

/** Per merge of the durable log: the attackers' part of the merge weight, its ratio to their part of the
 * merge's contributors, and the absent votes of merges below K. Evaluated in the coordinator page (the log's payloads stay there). */
function shares(coord: Page, attackers: string[], merge: string): Promise<Shares> {
  return coord.evaluate(async ({ bad, K, cc }) => {
    const d = (window as unknown as { __coordinator: { logNdjson(): Promise<Blob> } }).__coordinator;
    const lines = (await (await d.logNdjson()).text()).split('\n').filter((l) => l.includes('"contributors"'));
    let merges = 0, withAttackers = 0, sum = 0, worst = 0, fewest = Infinity, absentVotes = 0, belowK = 0, absentWrong = 0;
    for (const line of lines) {
      const e = JSON.parse(line) as { contributors: Array<{ id: string; weight: number }>; absent?: number };
      const total = e.contributors.reduce((s, c) => s + c.weight, 0);
      const mine = e.contributors.filter((c) => bad.includes(c.id));
      const share = total > 0 ? mine.reduce((s, c) => s + c.weight, 0) / total : 0;
      merges++; sum += share; fewest = Math.min(fewest, e.contributors.length);
      absentVotes += e.absent ?? 0; if (e.contributors.length < K) belowK++;
      if ((e.absent ?? 0) !== (cc ? Math.max(0, K - e.contributors.length) : 0)) absentWrong++;
      if (mine.length > 0) { withAttackers++; worst = Math.max(worst, share / (mine.length / e.contributors.length)); }
    }
    return { merges, withAttackers, meanShare: sum / Math.max(1, merges), worstExcess: worst, fewest, absentVotes, belowK, absentWrong };
  }, { bad: attackers, K: Number(shape.K), cc: merge === 'centered-clip' });
}

/** An annotation in the report, and a line in the log (the numbers the README quotes). */
const note = (type: string, description: string): void => {
  test.info().annotations.push({ type, description });
  console.log(`byzantine: ${type}: ${description}`);
};

test('2 of 6 tabs sign-flip ×4 with maximal claims: under centered-clip (strict quorum K = 5) their weight is exactly their share and the loss stays within +100% of the honest run\'s; rda does worse', async ({ swarm }) => {
  test.setTimeout(420_000);
  const runOnce = async (name: string, merge: string, byzantine: number): Promise<{ loss: number; attackers: string[]; coord: Page; rejections: Record<string, number> }> => {
    const run = `${swarm.run.run}${name}`;
    const coord = await swarm.coordinator({ ...shape, run, merge });
    const tabs = [];
    for (let i = 0; i < 6; i++) tabs.push(await swarm.learner({ workload: 'digits', backend: 'wasm', run, ...(i < byzantine ? { byzantine: '4' } : {}) }));
    const attackers: string[] = [];
    for (const t of tabs.slice(0, byzantine)) {
      const s = await swarm.until<LearnerView & { byzantine: number | null }>(t.page, (l) => l.learnerId !== '' && l.byzantine === 4, 'a hostile tab', 30_000);
      attackers.push(s.learnerId);
    }
    const at = await swarm.until<View>(coord, (c) => c.learnerSteps >= STEPS, `${STEPS} learner steps (${name})`, 150_000);
    const after = await swarm.until<View>(coord, (c) => c.loss.length > at.loss.length, `an evaluation after ${STEPS} steps (${name})`, 30_000);
    for (const t of tabs) await t.context.close(); // free the CPU for the next run
    const loss = after.loss.at(-1)!.loss;
    note(`${name} held-out loss`, `${loss.toFixed(4)} after ${after.learnerSteps} learner steps, ${after.merges} merges; refused ${JSON.stringify(after.rejections)}`);
    return { loss, attackers, coord, rejections: after.rejections };
  };

  const honest = await runOnce('honest', 'rda', 0);
  const rda = await runOnce('rda', 'rda', 2);
  const cc = await runOnce('cc', 'centered-clip', 2);
  for (const [name, r] of [['rda', rda], ['centered-clip', cc]] as const) {
    const s = await shares(r.coord, r.attackers, name);
    note(`${name} attackers' weight`, `${s.meanShare.toFixed(3)} of each merge on average over ${s.merges} merges (${s.withAttackers} with them; 2/6 = 0.333), worst ${s.worstExcess.toFixed(3)} × their share of a merge's learners; fewest contributors ${s.fewest}; ${s.belowK} merges below K, ${s.absentVotes} absent votes`);
    expect(s.withAttackers).toBeGreaterThan(0);
    expect(s.worstExcess).toBeLessThanOrEqual(name === 'rda' ? RDA_MAX_EXCESS : EQUAL);
    if (name === 'centered-clip') expect(s.fewest, 'every merge has more than 2 contributors: the medians, not the mean').toBeGreaterThanOrEqual(3);
    // A centered-clip round below K counts its missing votes as zero (core merge-round.ts absentVotes),
    // logged per merge; rda merges what came.
    expect(s.absentWrong, 'merges whose logged absent votes are not K minus their pushes (centered-clip), or not 0 (rda)').toBe(0);
  }
  const gap = (x: number): number => (x - honest.loss) / honest.loss;
  note('loss gap', `rda ${(100 * gap(rda.loss)).toFixed(1)}%, centered-clip ${(100 * gap(cc.loss)).toFixed(1)}%`);
  expect(gap(cc.loss)).toBeLessThanOrEqual(ROBUST_MAX_GAP);
  expect(rda.loss).toBeGreaterThan(cc.loss);
});
