import type { OuterDecision } from '@tabswarm/core';
import { describePreset } from '@tabswarm/worker';
import { readConfig } from './config';
import { CoordinatorDriver } from './driver';
import type { CoordinatorStatus } from './status';
import { charts } from './charts';
import { renderTiles, showRoom, viewSwitch } from './classroom';
import { Demo } from './demo';
import { Plots } from './plot';
import { reportJoinUrl } from './join-report';
import { modelFile, modelFileName } from './model-file';
import { takeOperatorSecret } from './operator';
import { saveState } from './state-file';

const $ = (id: string): HTMLElement => document.getElementById(id)!;
/** The URL's settings, or the page says why it cannot start (before, a teacher's mistyped `K=1` with
 * `merge=centered-clip`, or a cut-short `#op=`, left "starting" on the page and the reason in the console). */
function startConfig(): ReturnType<typeof readConfig> & { operatorSecret: string | undefined } {
  try {
    return { ...readConfig(), operatorSecret: takeOperatorSecret() };
  } catch (e) {
    $('c-state').textContent = 'failed';
    $('c-error').textContent = `this coordinator URL cannot be used: ${e instanceof Error ? e.message : String(e)}`;
    throw e;
  }
}
const cfg = startConfig();
const driver = new CoordinatorDriver(cfg, () => scheduleRender());
const w = window as unknown as { __tabswarm: CoordinatorStatus; __syncerTheta: () => Float32Array; __coordinator: CoordinatorDriver };
w.__tabswarm = driver.status;
w.__syncerTheta = () => driver.syncer?.model.theta ?? new Float32Array(0); // for tests: finiteness, hashes
w.__coordinator = driver; // for tests and the console: chaos, the durable log

const plots = new Plots($('c-plots'), { width: 520, height: 220 });
const classPlot = new Plots($('c-class-plot'), { width: 640, height: 300 }); // the projector's loss curve

const join = new URL('../learner/', location.href);
join.search = new URLSearchParams({ run: cfg.sync.runId, workload: cfg.workload, model: cfg.model, batch: String(cfg.batch), signal: `${cfg.signal.host}:${cfg.signal.port}` }).toString();
/** The join URL pins this run's key in its fragment, which browsers never send to a server (docs/security.md §2);
 * the room's link and QR code follow it. */
function showJoin(fingerprint: string): void {
  join.hash = fingerprint ? `coord=${fingerprint}` : '';
  if ($('c-join').textContent === join.href) return;
  if (fingerprint && cfg.operatorSecret) {
    void reportJoinUrl(join.href, cfg.operatorSecret).then((r) => { driver.status.joinReport = r; scheduleRender(); });
  }
  showRoom(cfg.sync.runId, join, { code: $('c-room'), link: $('c-join') as HTMLAnchorElement, qr: $('c-qr') as HTMLImageElement })
    .catch((e: unknown) => { driver.status.error = `QR code: ${String(e)}`; });
}
showJoin('');
viewSwitch($('c-view'), new URLSearchParams(location.search).get('view') === 'class');
new Demo(driver, { box: $('d-box') as HTMLCanvasElement, clear: $('d-clear'), prediction: $('d-prediction'), sample: $('t-sample'), step: $('t-step') });
$('c-hyper').textContent = JSON.stringify({ workload: cfg.workload, model: cfg.model, seed: cfg.seed, batch: cfg.batch, ...cfg.sync }, null, 2);

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
  showJoin(s.fingerprint);
  $('c-join-report').textContent = s.joinReport;
  $('c-error').textContent = s.error;
  $('c-step').textContent = String(s.globalStep);
  $('c-merges').textContent = s.mergesBelowK ? `${s.merges} (${s.mergesBelowK} closed below K: the missing votes counted as no change)` : String(s.merges);
  $('c-tokens').textContent = Math.round(s.mergedTokens).toLocaleString('en');
  const last = s.loss.at(-1);
  $('c-loss').textContent = last ? `${last.loss.toFixed(4)} nats (${(last.loss / Math.LN2).toFixed(3)} bits) at step ${last.step}` : '–';
  $('c-params').textContent = `${s.numParams.toLocaleString('en')}, model ${describePreset(cfg.workload, cfg.model)} (eval on ${s.evalBackend}${s.evalFailures ? `; ${s.evalFailures} evaluations failed, last: ${s.evalError}` : ''})`;
  $('c-bytes').textContent = `${(s.bytesIn / 1e6).toFixed(2)} MB / ${(s.bytesOut / 1e6).toFixed(2)} MB`;
  $('c-rejections').textContent = Object.entries(s.rejections).map(([k, v]) => `${k}: ${v}`).join(', ') || 'none';
  $('c-repulls').textContent = s.repulls ? `${s.repulls} (a push was overdue: lost on the way, or slow)` : '0';
  $('c-storage').textContent = storageLine(s);
  prunedButtons();
  $('c-lost').hidden = s.lostEpoch === null;
  $('c-refused-links').textContent = Object.entries(s.refusedConnections).map(([k, v]) => `${k}: ${v}`).join(', ') || 'none';
  $('c-durable').textContent = `commit ${s.commitSeq}, epoch ${s.epoch}${s.resumedFrom === null ? '' : ` (resumed from commit ${s.resumedFrom})`}, hash ${s.committedHash}, ${s.commitMs.toFixed(1)} ms per commit`;
  const g = s.goodput, k = (x: number): string => Math.round(x).toLocaleString('en');
  $('c-goodput').textContent = g.ratio === null ? '–' : `${(100 * g.ratio).toFixed(1)}% (${k(g.merged)} merged of ${k(g.trained)} trained tokens; ${k(g.pending)} not yet pushed)`;
  $('c-badput').textContent = `stale ${k(g.stale)}, filtered ${k(g.filtered)}, invalid ${k(g.invalid)}, superseded ${k(g.superseded)}, killed, lost in flight or overwritten in transit ${k(g.killedOrLost)}`;
  $('c-downtime').textContent = `${(s.downtimeMs / 1000).toFixed(1)} s`;
  $('c-outer').textContent = s.outerStep;
  const om = s.outerModeMerges;
  $('c-outer-merges').textContent = om.nesterov + om['delayed-nesterov'] ? `(merges: ${om.nesterov} Nesterov, ${om['delayed-nesterov']} Delayed Nesterov)` : '';
  $('x-counts').textContent = Object.entries(s.chaos).map(([f, n]) => `${f}: ${n}`).join(', ') || 'none';
  rows($('c-learners').querySelector('tbody')!, s.learners.map((l) => [
    l.id, l.backend, l.connected ? 'yes' : 'no', l.stepMs === undefined ? '–' : l.stepMs.toFixed(0), String(l.t), String(l.merges),
    Math.round(l.tokens).toLocaleString('en'), `${(l.lastSeenMs / 1000).toFixed(1)} s ago`, String(l.strikes),
  ]));
  const sy = driver.syncer;
  if (sy) rows($('c-fragments').querySelector('tbody')!, sy.fragments.map((f, p) => [
    String(p), f.size.toLocaleString('en'), String(sy.model.versions[p]), String(s.mergesPerFragment[p] ?? 0), String(s.contributorsPerFragment[p] ?? 0),
    outerCell(sy.outerPolicy.current[p] ?? null),
  ]));
  const cs = charts({ loss: s.loss, timeline: s.timeline });
  if (document.body.classList.contains('classroom')) {
    classPlot.update(cs.filter((c) => c.id === 'loss-time'));
    renderTiles($('c-tiles'), s.learners);
  } else plots.update(cs);
}

function outerCell(d: OuterDecision | null): string {
  return d === null ? '–' : d.kind === 'nesterov' ? 'Nesterov' : `Delayed Nesterov, N = ${d.delayPeriod}`;
}

/**
 * One download button per run of consecutive pruned commits this page holds (retention.ts). Buttons are
 * kept and relabelled as chunks join a run, not rebuilt, so a click lands; it downloads the run as it is then.
 */
function prunedButtons(): void {
  const box = $('c-pruned');
  const runs = driver.pruned.runs();
  while (box.childElementCount > runs.length) box.lastElementChild!.remove();
  runs.forEach((r, i) => {
    let b = box.children[i] as HTMLButtonElement | undefined;
    if (!b) {
      b = document.createElement('button');
      b.type = 'button';
      b.addEventListener('click', () => {
        const now = driver.pruned.runs()[i];
        if (now) download(`${cfg.sync.runId}-merges-${now.from}-${now.through}.ndjson`, now.ndjson);
      });
      box.append(b);
    }
    const label = `Download pruned log, commits ${r.from}–${r.through}`;
    if (b.textContent !== label) b.textContent = label;
  });
}

function storageLine(s: CoordinatorStatus): string {
  const st = s.storage;
  if (!st) return '–';
  const mb = (b: number): string => (b / 1e6).toLocaleString('en', { maximumFractionDigits: 1 });
  const persisted = { granted: 'persistent (the browser will not evict it)', denied: 'not persistent: the browser may evict the run under storage pressure', unsupported: 'persistence unsupported here', unanswered: 'persistence asked, not answered yet (the browser may be showing a prompt): it may evict the run meanwhile' }[st.persistence];
  const quota = s.storageWait ? `; ${s.storageWait}` : s.quotaErrors ? `; ${s.quotaErrors} commit attempts refused by a full quota` : '';
  const log = `; merge log ${mb(s.logBytes)} MB stored of a ${mb(cfg.logBudgetBytes)} MB budget${s.prunedThrough ? `, pruned through commit ${s.prunedThrough}` : ''}` +
    (s.prunedDroppedThrough ? ` (commits through ${s.prunedDroppedThrough} were never downloaded and are no longer held)` : '');
  // A key made now is a new run's, or this browser lost the run's earlier key: learners pinned to that one refuse it.
  const key = s.keyMade ? `; run key made by this start${s.resumedFrom === null ? '' : ' over a stored run: learners pinned to its earlier key will refuse it'}` : '';
  return `${persisted}${st.usage === null || st.quota === null ? '' : `; ${mb(st.usage)} MB of ${mb(st.quota)} MB used`}${quota}${log}${key}`;
}

function download(name: string, blob: Blob): void {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

$('c-download').addEventListener('click', () => { if (driver.syncer) download(`${cfg.sync.runId}-step${driver.syncer.globalStep}.tsstate`, saveState(driver.syncer)); });
$('c-model').addEventListener('click', () => { if (driver.syncer) download(modelFileName(driver.syncer, cfg), modelFile(driver.syncer, cfg)); });
/** The file an input was given; the input is emptied, so choosing the same file again (after a refusal) is a change too. */
function chosen(ev: Event): File | undefined {
  const input = ev.target as HTMLInputElement, file = input.files?.[0];
  input.value = '';
  if (file) { driver.status.error = ''; scheduleRender(); } // the last refusal is not this file's
  return file;
}
$('c-import').addEventListener('change', (ev) => {
  const file = chosen(ev);
  if (!file) return;
  file.arrayBuffer().then((b) => driver.importModel(new Uint8Array(b))).then(() => location.reload(), (e: unknown) => { driver.status.error = `import failed: ${String(e)}`; scheduleRender(); });
});
$('c-log').addEventListener('click', () => { driver.logNdjson().then((b) => download(`${cfg.sync.runId}-merges.ndjson`, b), (e: unknown) => { driver.status.error = `log download failed: ${String(e)}`; }); });
$('c-verify').addEventListener('click', () => {
  driver.verifyLog().then((v) => { $('c-verified').textContent = `${v.entries} commits: ${v.detail} (${v.replayedHash})`; }, (e: unknown) => { $('c-verified').textContent = `replay failed: ${String(e)}`; });
});
$('c-restart').addEventListener('click', () => {
  driver.restartRun().then(() => location.reload(), (e: unknown) => { driver.status.error = `restart failed: ${String(e)}`; scheduleRender(); });
});
$('c-load').addEventListener('change', (ev) => {
  const file = chosen(ev);
  if (!file) return;
  file.arrayBuffer().then((b) => driver.loadState(new Uint8Array(b))).then(() => location.reload(), (e: unknown) => { driver.status.error = `load failed: ${String(e)}`; scheduleRender(); });
});

// Chaos panel: every fault is counted and logged by driver.chaos.
const num = (id: string): number => Number(($(id) as HTMLInputElement).value);
const someLearner = (): string | undefined => driver.chaos.pick(driver.syncer?.connectedIds() ?? []);
$('x-kill').addEventListener('click', () => { const id = someLearner(); if (id) driver.kill(id); });
$('x-freeze').addEventListener('click', () => {
  const id = someLearner();
  if (id) { driver.chaos.frozenUntil.set(id, performance.now() + 1000 * num('x-freeze-s')); driver.chaos.record('freeze', id, `${num('x-freeze-s')} s`); }
});
$('x-throttle').addEventListener('click', () => { driver.chaos.throttle(driver.syncer?.connectedIds() ?? [], num('x-throttle-ms')); });
$('x-drop').addEventListener('click', () => { driver.chaos.dropRate = num('x-drop-pct') / 100; driver.chaos.record('drop', 'all', `${num('x-drop-pct')}%`); });
$('x-pause').addEventListener('click', () => driver.pause(1000 * num('x-pause-s')));

void driver.start();
