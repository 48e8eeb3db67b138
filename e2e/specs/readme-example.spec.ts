import { expect, test, type CoordinatorView } from '@tabswarm/testing';

// Two learner tabs train the digits model; one closes, and the swarm goes on merging the other's work.
test('a swarm of two tabs outlives one of them', async ({ swarm }) => {
  const coordinator = await swarm.coordinator({ workload: 'digits', P: '2', H: '8' });
  const first = await swarm.learner({ workload: 'digits', backend: 'wasm' });
  await swarm.learner({ workload: 'digits', backend: 'wasm' });
  const connected = (c: CoordinatorView): number => c.learners.filter((l) => l.connected).length;
  const both = await swarm.until<CoordinatorView>(coordinator, (c) => connected(c) === 2 && c.merges >= 2,
    'two connected learners and two merges', 120_000);

  await first.context.close();
  const after = await swarm.until<CoordinatorView>(coordinator, (c) => connected(c) === 1 && c.merges >= both.merges + 2,
    'the closed tab gone and two more merges', 120_000);
  expect(after.error).toBe('');
  expect(after.mergedTokens).toBeGreaterThan(both.mergedTokens);
});
