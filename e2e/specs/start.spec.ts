import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { expect, test, type CoordinatorView } from '@tabswarm/testing';

// Issue 11, parts 1 and 8: a tab contributes before it has measured every backend, the next start uses
// the choice remembered for the origin, and an error shown while the coordinator reloads clears.
interface StartView {
  state: string; merges: number; steps: number; error: string; why: string; link: string; backend: string;
  backendSource: string; calibration: string; firstMergeMs: number | null; model: string; learnerId: string; linkOpens: number;
  optimizerSteps: number; recoveries: number;
}
const run = { workload: 'text', model: 'tiny' };

test('a fresh tab contributes on the first backend that passes, calibrates afterwards, and the next start uses what it measured', async ({ swarm }) => {
  test.setTimeout(300_000);
  const coord = await swarm.coordinator({ ...run, evalMs: '3000' });
  const { page } = await swarm.learner(run);
  const first = await swarm.until<StartView>(page, (s) => s.merges > 0 || s.state === 'failed', 'the first merged update', 120_000);
  expect(first.state, first.error).not.toBe('failed');
  expect(first.backendSource).toBe('first');
  expect(first.why).toMatch(/^\w+: first to pass the self-test/);
  // Contributing did not wait for calibration: it starts only once the first update is merged.
  expect(first.calibration === '' || first.calibration === 'running', first.calibration).toBe(true);
  expect(first.firstMergeMs).toBeGreaterThan(0);
  expect(first.model).toMatch(/^tiny: 1 block, d 32, context 32; 18,862 parameters$/);
  console.log(`click → first merged update: ${(first.firstMergeMs! / 1000).toFixed(1)} s on ${first.backend}`);

  const done = await swarm.until<StartView>(page, (s) => /^(kept|switched|stayed|failed)/.test(s.calibration), 'the background calibration', 120_000);
  expect(done.calibration).toMatch(/^(kept \w+|switched from \w+ to \w+)/);
  console.log(`calibration: ${done.calibration}`);
  const after = await swarm.until<StartView>(page, (s) => s.merges >= done.merges + 2, 'merges after the calibration', 60_000);
  expect(after.backend).toBe(done.backend);
  expect(after.error).toBe('');
  // The coordinator's table (and the classroom tiles) show the backend the tab trains on now, not its hello's:
  // after a switch the tab said so in a backend message (protocol v7), on the same link.
  const shown = await swarm.until<CoordinatorView>(coord, (c) => c.learners.some((l) => l.id === after.learnerId && l.connected), 'the learner in the coordinator table', 30_000);
  expect(shown.learners.find((l) => l.id === after.learnerId)?.backend, `calibration: ${done.calibration}`).toBe(done.backend);
  if (done.calibration.startsWith('switched')) expect(after.linkOpens, 'the switch reached the coordinator without a reconnect').toBe(1);

  await page.reload(); // autostart=1: the second start, same origin and storage
  const again = await swarm.until<StartView>(page, (s) => s.merges > 0 || s.state === 'failed', 'the first merged update after the restart', 120_000);
  expect(again.backendSource).toBe('remembered');
  expect(again.backend).toBe(done.backend);
  expect(again.why).toMatch(new RegExp(`^${done.backend}: remembered on this browser \\(calibrated: `));
  expect(again.calibration).toBe(''); // nothing measured a second time
  console.log(`second start (remembered ${again.backend}): ${(again.firstMergeMs! / 1000).toFixed(1)} s`);
});

// On this machine the test above keeps wasm, the fastest backend here. A tab whose `?backends=` list puts
// cpu first (a volunteer's own ordering, README "Learner parameters") starts on cpu, and its calibration
// of the two finds wasm faster (≈4× here): the switch itself, end to end.
test('a tab that tries cpu first trains there, moves to wasm once calibrated with every step and AdamW moment kept, and starts on wasm next time', async ({ swarm }) => {
  test.setTimeout(240_000);
  const coord = await swarm.coordinator({ ...run, H: '4', evalMs: '3000' }); // H 4: the first merge after 4 cpu steps
  const { page } = await swarm.learner({ ...run, backends: 'cpu,wasm' });
  const first = await swarm.until<StartView>(page, (s) => s.merges > 0 || s.state === 'failed', 'the first merged update, on cpu', 120_000);
  expect(first.state, first.error).not.toBe('failed');
  expect([first.backend, first.backendSource]).toEqual(['cpu', 'first']);
  expect(first.why).toMatch(/^cpu: first to pass the self-test/);
  // Calibration starts only now and times real cpu steps (≈1 s each here) before it can decide: the table still says cpu.
  await swarm.until<CoordinatorView>(coord, (c) => c.learners.some((l) => l.id === first.learnerId && l.connected && l.backend === 'cpu'), 'the coordinator table to show cpu', 30_000);

  const done = await swarm.until<StartView>(page, (s) => /^(kept|switched|stayed|failed)/.test(s.calibration), 'the background calibration', 120_000);
  console.log(`calibration: ${done.calibration}; ${done.why}`);
  expect(done.calibration).toBe('switched from cpu to wasm');
  expect([done.backend, done.backendSource]).toEqual(['wasm', 'calibrated']);
  const after = await swarm.until<StartView>(page, (s) => s.steps >= done.steps + 4 && s.merges >= done.merges + 1, 'steps and a merge on wasm', 60_000);
  // AdamW's step count in the worker, now on wasm, equals the engine's count of every step since the click:
  // the moments (and bias correction) came along and no step was dropped or repeated by the move.
  expect(after.optimizerSteps, 'AdamW counted every step across the switch').toBe(after.steps);
  expect([after.recoveries, after.linkOpens, after.error]).toEqual([0, 1, '']); // a move, not a worker rebuild or a reconnect
  const shown = await swarm.until<CoordinatorView>(coord, (c) => c.learners.some((l) => l.id === after.learnerId && l.backend === 'wasm' && l.t >= done.steps), 'the coordinator table to show wasm, with the local steps going on', 30_000);
  expect(shown.learners.filter((l) => l.id === after.learnerId).map((l) => l.connected)).toEqual([true]);

  await page.reload(); // autostart=1, same origin and storage, same ?backends=
  const again = await swarm.until<StartView>(page, (s) => s.merges > 0 || s.state === 'failed', 'the first merged update after the restart', 120_000);
  expect([again.backend, again.backendSource, again.calibration]).toEqual(['wasm', 'remembered', '']);
  expect(again.why).toMatch(/^wasm: remembered on this browser \(calibrated: wasm: \d/);
  await swarm.until<CoordinatorView>(coord, (c) => c.learners.some((l) => l.id === again.learnerId && l.connected && l.backend === 'wasm'), 'the restarted tab on wasm in the table', 30_000);
  console.log(`cpu first merge ${(first.firstMergeMs! / 1000).toFixed(1)} s; switched at step ≤ ${done.steps}; remembered wasm, first merge ${(again.firstMergeMs! / 1000).toFixed(1)} s`);
});

test('while the coordinator reloads the learner page says it is reconnecting, and whatever error it showed clears', async ({ swarm }) => {
  test.setTimeout(300_000);
  const coord = await swarm.coordinator({ ...run, evalMs: '3000' });
  const { page } = await swarm.learner(run);
  const before = await swarm.until<StartView>(page, (s) => s.merges >= 2, 'two merged updates', 120_000);
  const links = new Set<string>(), errors = new Set<string>();
  await coord.reload();
  // Watch the page through the reload: what its link line said and every error it showed.
  const seen = await swarm.until<StartView>(page, (s) => {
    if (s.link) links.add(s.link.split(':')[0]!);
    if (s.error) errors.add(s.error);
    return links.has('reconnecting') || links.has('connecting');
  }, 'the link line to say it is reconnecting', 60_000);
  expect(seen.state).not.toBe('failed');
  await swarm.until<CoordinatorView>(coord, (c) => c.state === 'running', 'the reloaded coordinator', 60_000);
  const back = await swarm.until<StartView>(page, (s) => {
    if (s.error) errors.add(s.error);
    return s.merges >= before.merges + 2 && s.link.startsWith('open');
  }, 'merged updates after the reload', 120_000);
  console.log(`link states seen: ${[...links].join(', ')}; errors shown: ${[...errors].join(' | ') || 'none'}`);
  expect([...errors].filter((e) => /not-open/.test(e)), 'a send while reconnecting is not an error').toEqual([]);
  expect(back.error, 'errors clear once the cause is gone').toBe('');
});

const ROOT = resolve(import.meta.dirname, '../..');
const freePort = (): Promise<number> => new Promise((ok, fail) => {
  const srv = createServer().listen(0, '127.0.0.1', () => { const a = srv.address(); srv.close(() => (a && typeof a === 'object' ? ok(a.port) : fail(new Error('no port')))); });
});
const JOIN_LINE = /join URL: +(https?:\/\/\S+)/g;

// Issue 11, `npm start`: the run key is made in the coordinator page, so the terminal can print the join URL
// only once that page has reported it; a report without the operator secret is refused and printed nowhere.
test('npm start prints the join URL the coordinator page made, and nobody without the operator secret can make it print another', async ({ browser }) => {
  test.setTimeout(240_000);
  const [port, signalPort] = await Promise.all([freePort(), freePort()]);
  const runId = `start${Date.now().toString(36)}`;
  const child = spawn(process.execPath, ['--import', 'tsx', resolve(ROOT, 'e2e/start.ts'), '--port', String(port), '--signal-port', String(signalPort), '--run', runId], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (b: Buffer) => { out += b.toString(); });
  child.stderr.on('data', (b: Buffer) => { out += b.toString(); });
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  const context = await browser.newContext();
  try {
    await expect.poll(() => out, { timeout: 180_000, message: 'npm start up (it builds first when the sources changed)' }).toMatch(/coordinator: +http\S+/);
    expect([...out.matchAll(JOIN_LINE)], 'no join URL before the coordinator page made its key').toEqual([]);
    const secret = readFileSync(resolve(ROOT, '.tabswarm/operator-secret'), 'utf8').trim();
    const coordinatorUrl = /coordinator: +(http\S+)/.exec(out)![1]!.split('#')[0]!;
    const page = await context.newPage();
    await page.goto(`${coordinatorUrl}#op=${secret}`); // what a first start prints (later ones point to the file)
    await expect(page.locator('#c-join'), 'the page made its key and pinned it').toHaveAttribute('href', /#coord=[\w-]{43}$/, { timeout: 60_000 });
    const shown = await page.locator('#c-join').getAttribute('href');
    await expect.poll(() => [...out.matchAll(JOIN_LINE)].map((m) => m[1]), { timeout: 15_000, message: 'npm start prints the join URL' }).toEqual([shown]);
    expect(shown).toMatch(new RegExp(`/learner/\\?run=${runId}&.*#coord=[\\w-]{43}$`));
    await expect(page.locator('#c-join-report')).toHaveText(/^reported/);

    // A stranger on the network posts a join URL pinning their own key: refused without the secret.
    const forged = shown!.replace(/#coord=.*/, `#coord=${'A'.repeat(43)}`);
    const report = (operator: string): Promise<Response> => fetch(`http://127.0.0.1:${port}/tabswarm/join-url`, { method: 'POST', headers: { 'x-tabswarm-operator': operator }, body: forged });
    expect((await report('0'.repeat(32))).status).toBe(403);
    expect((await report('')).status).toBe(403);
    await page.reload(); // the page reports again: same key, so nothing new is printed
    await expect(page.locator('#c-join-report')).toHaveText(/^reported/, { timeout: 60_000 });
    expect([...out.matchAll(JOIN_LINE)].map((m) => m[1])).toEqual([shown]);
    console.log(`npm start printed: join URL: ${shown}`);
  } finally {
    await context.close();
    child.kill('SIGINT'); // start.ts closes both servers and exits
    const code = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 10_000))]);
    if (code === 'hung') child.kill('SIGKILL');
    expect(code, out).toBe(0);
  }
});

