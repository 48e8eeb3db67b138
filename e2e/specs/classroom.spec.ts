import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Page } from '@playwright/test';
import QRCode from 'qrcode';
import { expect, test, type CoordinatorView, type LearnerView } from '@tabswarm/testing';

type Demo = { sample: string; sampleStep: number; prediction: number[] | null; predictionStep: number; drawing: number; error: string };
type ClassView = CoordinatorView & { demo: Demo; timeline: unknown[] };
type ShareView = LearnerView & { share: number | null };
const DATA = resolve(import.meta.dirname, '../../public/data');
/** Held-out digits painted into the demo box, one after another. */
const DRAWINGS = 40;

// Digits keeps these fast on a 2-core CPU machine; small H and P make merges come within seconds.
const fast = { workload: 'digits', P: '2', H: '8', evalMs: '2000', tokens: '200000' };

/** Pixels of `rgb` (±24 per channel) on a chart's canvas: a drawn series leaves hundreds, an empty chart none. */
function inkOf(page: Page, chart: string, rgb: [number, number, number]): Promise<number> {
  return page.evaluate(([id, [r, g, b]]) => {
    const c = document.querySelector<HTMLCanvasElement>(`[data-chart="${id}"] canvas`);
    if (!c) return -1;
    const px = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < px.length; i += 4) if (Math.abs(px[i]! - r) < 24 && Math.abs(px[i + 1]! - g) < 24 && Math.abs(px[i + 2]! - b) < 24) n++;
    return n;
  }, [chart, rgb] as const);
}

test('the dashboard plots loss, goodput, traffic and learners with uPlot, axes in units', async ({ swarm }) => {
  const coord = await swarm.coordinator(fast);
  await swarm.learner({ workload: 'digits', backend: 'wasm' });
  await swarm.until<CoordinatorView & { timeline: unknown[] }>(coord, (c) => c.loss.length >= 3 && c.timeline.length >= 4 && c.merges >= 4, 'three evaluations and four timeline points', 120_000);
  const blue: [number, number, number] = [0x15, 0x65, 0xc0], green: [number, number, number] = [0x2e, 0x7d, 0x32];
  await expect.poll(() => inkOf(coord, 'loss-tokens', blue), { message: 'the loss curve drawn', timeout: 10_000 }).toBeGreaterThan(50);
  await expect.poll(() => inkOf(coord, 'goodput', green), { message: 'the goodput curve drawn', timeout: 10_000 }).toBeGreaterThan(50);
  for (const id of ['loss-time', 'bytes', 'learners']) expect(await inkOf(coord, id, blue), id).toBeGreaterThan(50);
  // Axis labels are drawn on the canvas (their units are checked in e2e/report.test.ts); the legends are text.
  const legends = await coord.locator('[data-chart="goodput"] .u-label, [data-chart="bytes"] .u-label').allTextContents();
  expect(legends).toEqual(expect.arrayContaining(['goodput (%)', 'contributors per merge', 'received (kB/s)', 'sent (kB/s)']));
});

/** The QR image read back module by module (dark = 1), at the geometry classroom.ts draws it with. */
function qrModules(page: Page, size: number): Promise<number[]> {
  return page.evaluate(async ([n, margin]) => {
    const img = document.getElementById('c-qr') as HTMLImageElement;
    await img.decode();
    const c = Object.assign(document.createElement('canvas'), { width: img.naturalWidth, height: img.naturalHeight }), g = c.getContext('2d')!;
    g.drawImage(img, 0, 0);
    const px = g.getImageData(0, 0, c.width, c.height).data;
    const scale = c.width / (n + 2 * margin), out: number[] = [];
    for (let r = 0; r < n; r++) for (let q = 0; q < n; q++) {
      const x = Math.floor((q + margin + 0.5) * scale), y = Math.floor((r + margin + 0.5) * scale);
      out.push(px[4 * (y * c.width + x)]! < 128 ? 1 : 0);
    }
    return out;
  }, [size, 2] as const);
}

/** Paints a 28×28 image (0..255) into the digit box at 10× and lifts the pen, as a finished stroke does. */
function paintDigit(page: Page, pixels: number[]): Promise<void> {
  return page.evaluate((img) => {
    const box = document.getElementById('d-box') as HTMLCanvasElement, g = box.getContext('2d')!, k = box.width / 28;
    g.clearRect(0, 0, box.width, box.height);
    img.forEach((v, i) => { if (v > 0) { g.fillStyle = `rgba(0,0,0,${v / 255})`; g.fillRect((i % 28) * k, Math.floor(i / 28) * k, k, k); } });
    box.dispatchEvent(new PointerEvent('pointerup'));
  }, pixels);
}

test('classroom view: one room code on both pages, a QR code of the join URL, a tile per learner, shares summing to 100%, a drawn digit predicted', async ({ swarm }) => {
  const coord = await swarm.coordinator({ ...fast, view: 'class' });
  const tabs = [await swarm.learner({ workload: 'digits', backend: 'wasm' }), await swarm.learner({ workload: 'digits', backend: 'wasm' })];

  const room = await coord.locator('#c-room').textContent();
  expect(room).toMatch(/^[A-HJ-NP-Z]{5}$/);
  for (const t of tabs) await expect(t.page.locator('#s-room')).toHaveText(room!);

  // The QR code is the join URL: its modules are the QR library's own encoding of that URL (oracle), and
  // the URL names this run.
  const join = await coord.locator('#c-join').getAttribute('href');
  expect(new URL(join!).searchParams.get('run')).toBe(swarm.run.run);
  await expect(coord.locator('#c-qr')).toHaveAttribute('src', /^data:image\/png;base64,/);
  const want = QRCode.create(join!, { errorCorrectionLevel: 'M' }).modules;
  expect(await qrModules(coord, want.size)).toEqual(Array.from(want.data, (b) => (b ? 1 : 0)));

  // One tile per learner, alive, shares of the merged tokens summing to 100%; each learner page's share agrees.
  await swarm.until<ClassView>(coord, (c) => c.learners.filter((l) => l.merges > 0).length === 2 && (c.loss.at(-1)?.loss ?? 9) < 0.8, 'both learners merged and loss < 0.8', 240_000);
  await expect(coord.locator('.tile.alive')).toHaveCount(2);
  const shares = (await coord.locator('.tile').evaluateAll((ts) => ts.map((t) => Number((t as HTMLElement).dataset.share))));
  expect(shares.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
  for (const s of shares) expect(s).toBeGreaterThan(0); // both merged; how much depends on when each tab started
  await expect.poll(async () => {
    const mine = await Promise.all(tabs.map((t) => swarm.status<ShareView>(t.page)));
    return Math.abs(mine.reduce((a, l) => a + (l.share ?? 0), 0) - 1);
  }, { message: 'the learner pages\' shares summing to 100%', timeout: 30_000 }).toBeLessThan(0.05);
  await expect(tabs[0]!.page.locator('#s-share')).toContainText('% of the merged tokens');

  // Held-out digits painted into the box: the prediction is a distribution, and mostly the right digit.
  // Painted and re-fitted to 20×20 as a pen stroke is, they come out ≈ 74% right at a held-out loss below
  // 0.5 nats (14–18 of the first 20 in four runs alone, 11 under a loaded machine, when 12 of 20 was the
  // bar). Half of 40 is the bar: a run at 74% misses it 0.03% of the time, at 65% 1.7%; chance (10%) or a
  // half-broken input (30%, e.g. transposed) passes it < 1% of the time.
  await swarm.until<ClassView>(coord, (c) => (c.loss.at(-1)?.loss ?? 9) < 0.5, 'loss < 0.5', 180_000);
  const val = readFileSync(resolve(DATA, 'digits/val.bin'));
  let right = 0;
  for (let i = 0; i < DRAWINGS; i++) {
    const rec = [...val.subarray(785 * i, 785 * i + 784)], label = val[785 * i + 784]!;
    await paintDigit(coord, rec);
    const d = (await swarm.until<ClassView>(coord, (c) => c.demo.drawing === i + 1, `the prediction of drawing ${i + 1}`, 30_000)).demo;
    expect(d.prediction!.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
    if (d.prediction!.indexOf(Math.max(...d.prediction!)) === label) right++;
  }
  test.info().annotations.push({ type: 'held-out digits predicted right', description: `${right}/${DRAWINGS}` });
  console.log(`classroom: ${right} of ${DRAWINGS} painted held-out digits predicted right`);
  expect(right).toBeGreaterThanOrEqual(DRAWINGS / 2);

  // A stroke drawn with the mouse reaches the model too, and the page shows its guess.
  await coord.locator('#d-clear').click();
  const b = (await coord.locator('#d-box').boundingBox())!;
  await coord.mouse.move(b.x + b.width / 2, b.y + 40);
  await coord.mouse.down();
  await coord.mouse.move(b.x + b.width / 2, b.y + b.height - 40, { steps: 10 });
  await coord.mouse.up();
  await swarm.until<ClassView>(coord, (c) => c.demo.drawing === DRAWINGS + 1 && c.demo.prediction !== null, 'the prediction of a mouse stroke', 30_000);
  await expect(coord.locator('#d-prediction .guess')).toHaveText(/^\d \(\d+%\)$/);
});

test('text workload: the classroom view shows text sampled from the current global model, and it follows the model', async ({ swarm }) => {
  const tiny = { workload: 'text', model: 'tiny' };
  const coord = await swarm.coordinator({ ...tiny, P: '2', H: '4', evalMs: '3000', batch: '4', view: 'class' }); // the run's batch: tabs training another are refused (token-claim)
  await swarm.learner({ ...tiny, backend: 'wasm', batch: '4' });
  const first = (await swarm.until<ClassView>(coord, (c) => c.demo.sample.length > 4, 'a first text sample', 120_000)).demo;
  const vocab = (JSON.parse(readFileSync(resolve(DATA, 'text/vocab.json'), 'utf8')) as { chars: string[] }).chars;
  expect(first.sample.startsWith('The ')).toBe(true);
  for (const ch of first.sample.slice(4)) expect(vocab).toContain(ch);
  await expect(coord.locator('#t-sample')).toHaveText(first.sample);
  const later = (await swarm.until<ClassView>(coord, (c) => c.merges > 0 && c.demo.sampleStep > first.sampleStep, 'a sample from a later global model', 120_000)).demo;
  expect(later.error).toBe('');
  await expect(coord.locator('#t-step')).toHaveText(`at global step ${later.sampleStep}`);
});
