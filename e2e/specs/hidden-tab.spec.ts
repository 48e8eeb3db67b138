import { expect, launchThrottledBrowser, test, type CoordinatorView, type LearnerView } from '@tabswarm/testing';

// Issue 11 part 5: a learner tab hidden behind another tab keeps contributing, in a Chromium without the
// switches that turn background throttling off and without Playwright's focus emulation (docs/browser.md
// §5). HIDDEN_MINUTES shortens it locally; the suite runs 6, a whole minute past the five after which Chrome
// throttles chained timers of a hidden page to once a minute.
const MINUTES = Number(process.env.HIDDEN_MINUTES ?? 6);

test(`a hidden learner tab keeps contributing for ${MINUTES} minutes with background throttling on`, async ({ swarm }) => {
  test.setTimeout((MINUTES + 4) * 60_000);
  const coordinator = await swarm.coordinator({ workload: 'digits', P: '2', H: '8', tokens: '2000000' });
  const throttled = await launchThrottledBrowser();
  try {
    const errors: string[] = [];
    const learner = await throttled.context.newPage();
    learner.on('pageerror', (e) => errors.push(e.message));
    await learner.goto(`${swarm.stack.baseUrl}/learner/?${new URLSearchParams({ ...swarm.run, workload: 'digits', backend: 'wasm', autostart: '1' })}`);
    const first = await swarm.until<LearnerView>(learner, (l) => l.merges >= 1, 'a first merge while visible', 120_000);

    const front = await throttled.context.newPage(); // another tab of the same window, in front
    await front.bringToFront();
    await expect.poll(() => learner.evaluate(() => document.visibilityState), { timeout: 10_000 }).toBe('hidden');
    // The oracle that the page really is throttled: a 100 ms main-thread interval wakes ~600 times a
    // minute unthrottled, at most ~60 in a hidden page.
    await learner.evaluate(() => { const w = window as unknown as { __ticks: number }; w.__ticks = 0; setInterval(() => { w.__ticks++; }, 100); });
    const ticks = (): Promise<number> => learner.evaluate(() => (window as unknown as { __ticks: number }).__ticks);
    const start = Date.now();
    let last = first, lastTicks = 0;
    for (let m = 1; m <= MINUTES; m++) {
      const c = await swarm.until<CoordinatorView>(coordinator, () => Date.now() >= start + m * 60_000, `minute ${m} of ${MINUTES} hidden`, 70_000);
      const l = await swarm.status<LearnerView>(learner);
      const t = await ticks();
      console.log(`hidden minute ${m}: ${l.merges - last.merges} merges, ${l.steps - last.steps} steps, ${t - lastTicks} wake-ups of a 100 ms timer`);
      expect(await learner.evaluate(() => document.visibilityState), `still hidden at minute ${m}`).toBe('hidden');
      expect(t - lastTicks, `main-thread wake-ups of a 100 ms interval in minute ${m}`).toBeLessThan(120);
      expect(l.merges, `merges accepted during minute ${m}`).toBeGreaterThan(last.merges);
      expect(l.linkOpens, `the link never reopened (minute ${m})`).toBe(1);
      expect(c.learners.filter((x) => x.connected).map((x) => x.id)).toEqual([l.learnerId]);
      last = l;
      lastTicks = t;
    }
    expect(errors, 'uncaught errors on the hidden learner page').toEqual([]);
  } finally {
    await throttled.close();
  }
});
