import { expect, test, type CoordinatorView, type LearnerView } from '@tabswarm/testing';

// Issue 10, part 8: every page and file the stack serves carries a CSP that allows only the app's own
// scripts, workers and WebAssembly, and the usual security headers; the pages still train under them.
const EXPECTED: Record<string, RegExp> = {
  'content-security-policy': /^default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self' blob:; connect-src 'self' ws: wss:;.*object-src 'none'.*frame-ancestors 'none'/,
  'x-content-type-options': /^nosniff$/,
  'referrer-policy': /^no-referrer$/,
  'x-frame-options': /^DENY$/,
  'cross-origin-opener-policy': /^same-origin$/,
};

test('security headers on every page and asset, and the pages still train under the CSP', async ({ swarm, request }) => {
  const html = await (await request.get(`${swarm.stack.baseUrl}/learner/`)).text();
  const assets = [...html.matchAll(/(?:src|href)="\.\.\/(assets\/[^"]+)"/g)].map((m) => m[1]!);
  expect(assets.length, 'the learner page links its built assets').toBeGreaterThan(0);
  for (const path of ['/', '/coordinator/', '/learner/', ...assets.map((a) => `/${a}`), '/data/digits/meta.json']) {
    const res = await request.get(`${swarm.stack.baseUrl}${path}`);
    for (const [name, want] of Object.entries(EXPECTED)) expect(res.headers()[name], `${name} on ${path}`).toMatch(want);
  }
  // Under the CSP: a coordinator and a wasm learner (TF.js WebAssembly, its worker) train; the fixture
  // fails the test on any CSP violation reported on a page's console.
  const coord = await swarm.coordinator({ workload: 'digits', P: '2', H: '8', evalMs: '3000', tokens: '200000' });
  const { page } = await swarm.learner({ workload: 'digits', backend: 'wasm' });
  const l = await swarm.until<LearnerView>(page, (s) => s.merges >= 2, 'two merges of the learner', 180_000);
  expect(l.backend).toBe('wasm');
  const c = await swarm.until<CoordinatorView>(coord, (s) => s.loss.length >= 1, 'a held-out loss (the evaluation worker)', 60_000);
  expect(Number.isFinite(c.loss[0]!.loss)).toBe(true);
});
