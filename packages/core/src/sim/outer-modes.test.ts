import { describe, expect, it } from 'vitest';
import { DEFAULT_OUTER_MODES, OUTER_METHODS, outerModeComparison } from './outer-modes';

// Single-contributor merges (K=1, no grace, 3× speed spread, four learners) on seeds 1–3: plain Nesterov
// against 'auto'; then 'auto' with the default grace window, where merges hold about every learner.
describe('the auto outer step in the simulator', () => {
  const o = { ...DEFAULT_OUTER_MODES, tokens: 100_000 };
  const pick = (name: string) => OUTER_METHODS.find((m) => m.name === name)!;
  const [plain, auto, autoGrace] = outerModeComparison(o, [pick('Nesterov'), pick('auto'), pick('auto + grace')]);

  it('picks Delayed Nesterov for most single-contributor merges, and loses no more than plain Nesterov', () => {
    console.log(`K=1, no grace: excess loss Nesterov ${plain!.excess.map((x) => x.toFixed(4)).join(' ')}, auto ${auto!.excess.map((x) => x.toFixed(4)).join(' ')}; ` +
      `auto took Delayed Nesterov on ${(100 * auto!.delayedShare).toFixed(1)}% of ${auto!.contributorsPerMerge.toFixed(2)}-contributor merges`);
    expect(plain!.contributorsPerMerge).toBeLessThan(1.1);
    expect(plain!.delayedShare).toBe(0);
    expect(auto!.delayedShare).toBeGreaterThan(0.5);
    expect(auto!.meanExcess).toBeLessThanOrEqual(plain!.meanExcess);
    auto!.excess.forEach((x, i) => expect(x).toBeLessThanOrEqual(plain!.excess[i]!));
  });

  it('stays Nesterov when the grace window fills the merges', () => {
    console.log(`K=1 + grace: ${autoGrace!.contributorsPerMerge.toFixed(2)} contributors per merge, Delayed Nesterov on ${(100 * autoGrace!.delayedShare).toFixed(1)}%`);
    expect(autoGrace!.delayedShare).toBeLessThanOrEqual(0.05);
  });
});
