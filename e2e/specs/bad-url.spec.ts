import { expect, test } from '@tabswarm/testing';

// A URL a page cannot use (a teacher's mistyped parameter, a join URL cut short in a chat) says why on the
// page. Before, both pages threw while loading: the coordinator stayed at "starting" and the learner's
// Start button did nothing, with the reason only in the console. These pages are opened outside the
// fixture's own, which fails a test on any uncaught page error: here the throw that stops the page is the point.
test('a coordinator URL it cannot use, and a learner join URL cut short, each say why on the page', async ({ browser, swarm }) => {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const thrown: string[] = [];
    page.on('pageerror', (e) => thrown.push(e.message));
    await page.goto(`${swarm.stack.baseUrl}/coordinator/?${new URLSearchParams({ ...swarm.run, merge: 'centered-clip', K: '1' })}`);
    await expect(page.locator('#c-error')).toHaveText(/^this coordinator URL cannot be used: merge=centered-clip with K=1: .*set K=3 or more$/);
    await expect(page.locator('#c-state')).toHaveText('failed');
    expect(thrown).toHaveLength(1);

    await page.goto(`${swarm.stack.baseUrl}/learner/?${new URLSearchParams({ ...swarm.run, workload: 'digits' })}#coord=${'A'.repeat(42)}`);
    await expect(page.locator('#s-error')).toHaveText(/^this join URL cannot be used: #coord="A{42}": want 43 base64url characters/);
    await expect(page.locator('#s-state')).toHaveText('failed');
    await expect(page.locator('#consent')).toBeHidden();
  } finally {
    await context.close();
  }
});
