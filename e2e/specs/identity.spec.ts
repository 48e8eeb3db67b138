import type { Page } from '@playwright/test';
import { expect, test, type CoordinatorView, type LearnerView } from '../fixture';

// Issue #10, identities (docs/security.md): knowing a learner's id is not enough to take its link.
const fast = { workload: 'digits', P: '2', H: '8', evalMs: '3000', tokens: '200000' };

type Raw = { open: boolean; closes: number; close(): void };
const raw = <R>(p: Page, fn: (r: Raw) => R): Promise<R> => p.evaluate(`(${fn.toString()})(window.squat)`) as Promise<R>;

test('a link opened with a victim\'s learner id is refused: the victim keeps its link and keeps contributing', async ({ swarm }) => {
  test.setTimeout(300_000);
  const coord = await swarm.coordinator(fast);
  const victim = await swarm.learner({ workload: 'digits', backend: 'wasm' });
  const v0 = await swarm.until<LearnerView>(victim.page, (s) => s.merges >= 1, 'the victim merges', 120_000);

  // The attacker knows the victim's id (it is on the coordinator's dashboard) but not its session's secret.
  const { page: attacker } = await swarm.learner({ workload: 'digits', autostart: '0' });
  await attacker.evaluate((id) => { (window as unknown as { squat: unknown }).squat = (window as unknown as { __tabswarmRawLink: (id: string) => unknown }).__tabswarmRawLink(id); }, v0.learnerId);
  await expect.poll(() => raw(attacker, (r) => r.closes), { timeout: 30_000, message: 'the squatting link refused' }).toBeGreaterThan(0);
  const refused = await swarm.until<CoordinatorView>(coord, (s) => (s.refusedConnections['id-in-use'] ?? 0) >= 1, 'the coordinator counts the refusal');
  expect(refused.refusedConnections['id-in-use']).toBe(1); // refused once: the squatter does not retry
  expect(await raw(attacker, (r) => r.open)).toBe(false);

  // The victim's link was never replaced: same learner, still connected, merges keep coming.
  const v1 = await swarm.status<LearnerView>(victim.page);
  expect(v1.state).toBe('training');
  const v2 = await swarm.until<LearnerView>(victim.page, (s) => s.merges >= v1.merges + 3, 'the victim keeps contributing', 120_000);
  expect(v2.error).toBe('');
  const c = await swarm.status<CoordinatorView>(coord);
  expect(c.learners.filter((l) => l.id === v0.learnerId).map((l) => l.connected)).toEqual([true]);
});
