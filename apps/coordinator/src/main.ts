import { readConfig } from './config';
import { CoordinatorDriver, type CoordinatorStatus } from './driver';
import { drawLoss } from './plot';
import { loadState, saveState } from './state-file';

const cfg = readConfig();
const $ = (id: string): HTMLElement => document.getElementById(id)!;
const driver = new CoordinatorDriver(cfg, () => scheduleRender());
const w = window as unknown as { __tabswarm: CoordinatorStatus; __syncerTheta: () => Float32Array };
w.__tabswarm = driver.status;
w.__syncerTheta = () => driver.syncer?.model.theta ?? new Float32Array(0); // for tests: finiteness, hashes

const join = new URL('../learner/', location.href);
join.search = new URLSearchParams({ run: cfg.sync.runId, workload: cfg.workload, model: cfg.model, signal: `${cfg.signal.host}:${cfg.signal.port}` }).toString();
$('c-join').textContent = join.href;
($('c-join') as HTMLAnchorElement).href = join.href;
$('c-hyper').textContent = JSON.stringify({ workload: cfg.workload, model: cfg.model, seed: cfg.seed, ...cfg.sync }, null, 2);

// Render at most 4×/s with a timer: requestAnimationFrame stops in a background tab.
let pending = false;
function scheduleRender(): void {
  if (pending) return;
  pending = true;
  setTimeout(() => { pending = false; render(driver.status); }, 250);
}

function rows(tbody: Element, cells: string[][]): void {
  tbody.replaceChildren(...cells.map((r) => {
    const tr = document.createElement('tr');
    for (const c of r) { const td = document.createElement('td'); td.textContent = c; tr.append(td); }
    return tr;
  }));
}

function render(s: CoordinatorStatus): void {
  $('c-state').textContent = s.state;
  $('c-error').textContent = s.error;
  $('c-step').textContent = String(s.globalStep);
  $('c-merges').textContent = String(s.merges);
  $('c-tokens').textContent = Math.round(s.mergedTokens).toLocaleString('en');
  const last = s.loss.at(-1);
  $('c-loss').textContent = last ? `${last.loss.toFixed(4)} nats (${(last.loss / Math.LN2).toFixed(3)} bits) at step ${last.step}` : '–';
  $('c-params').textContent = `${s.numParams.toLocaleString('en')} (eval on ${s.evalBackend})`;
  $('c-bytes').textContent = `${(s.bytesIn / 1e6).toFixed(2)} MB / ${(s.bytesOut / 1e6).toFixed(2)} MB`;
  $('c-rejections').textContent = Object.entries(s.rejections).map(([k, v]) => `${k}: ${v}`).join(', ') || 'none';
  rows($('c-learners').querySelector('tbody')!, s.learners.map((l) => [
    l.id, l.backend, l.connected ? 'yes' : 'no', l.stepMs === undefined ? '–' : l.stepMs.toFixed(0), String(l.t), String(l.merges),
    Math.round(l.tokens).toLocaleString('en'), `${(l.lastSeenMs / 1000).toFixed(1)} s ago`,
  ]));
  const sy = driver.syncer;
  if (sy) rows($('c-fragments').querySelector('tbody')!, sy.fragments.map((f, p) => [
    String(p), f.size.toLocaleString('en'), String(sy.model.versions[p]), String(s.mergesPerFragment[p] ?? 0), String(s.contributorsPerFragment[p] ?? 0),
  ]));
  drawLoss($('c-plot') as HTMLCanvasElement, s.loss);
}

function download(name: string, blob: Blob): void {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

$('c-download').addEventListener('click', () => { if (driver.syncer) download(`${cfg.sync.runId}-step${driver.syncer.globalStep}.tsstate`, saveState(driver.syncer)); });
$('c-log').addEventListener('click', () => download(`${cfg.sync.runId}-merges.ndjson`, new Blob(driver.log.map((e) => `${JSON.stringify(e)}\n`), { type: 'application/x-ndjson' })));
$('c-load').addEventListener('change', (ev) => {
  const file = (ev.target as HTMLInputElement).files?.[0];
  if (!file || !driver.syncer) return;
  loadState(driver.syncer, file).then(() => { driver.status.error = ''; scheduleRender(); }, (e: unknown) => { driver.status.error = `load failed: ${String(e)}`; scheduleRender(); });
});

void driver.start();
