import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { charts, type ChartInput } from '../apps/coordinator/src/charts';
import type { CoordinatorView } from '@tabswarm/testing';
import type { SwarmSummary } from './swarm-summary';

/** What the report reads: the fixture's view of the coordinator plus its plots' history. */
export type ReportView = CoordinatorView & Pick<ChartInput, 'timeline'>;

const uplotFile = (name: string): string => readFileSync(createRequire(import.meta.url).resolve(`uplot/dist/${name}`), 'utf8');

/**
 * A self-contained HTML report: the run's parameters, final numbers (goodput, downtime, contributors,
 * bytes) and the dashboard's uPlot charts (apps/coordinator/src/charts.ts), uPlot itself inlined so the
 * file opens offline.
 */
export function reportHtml(c: ReportView, meta: Record<string, string | number>, s: SwarmSummary): string {
  const pts = c.loss;
  const esc = (s: string): string => s.replace(/[&<>]/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[ch]!);
  const g = c.goodput, tok = (x: number): string => Math.round(x).toLocaleString('en');
  const rows = Object.entries({ ...meta, 'global step': c.globalStep, commits: c.commitSeq, merges: c.merges, 'merged tokens': Math.round(c.mergedTokens), parameters: c.numParams,
    'final loss (nats)': pts.at(-1)?.loss.toFixed(4) ?? '–', refused: JSON.stringify(c.rejections),
    goodput: g.ratio === null ? '–' : `${(100 * g.ratio).toFixed(1)}% of ${tok(g.trained)} trained tokens`,
    'badput (tokens)': `stale ${tok(g.stale)}, filtered ${tok(g.filtered)}, invalid ${tok(g.invalid)}, superseded ${tok(g.superseded)}, killed/lost ${tok(g.killedOrLost)}; pending ${tok(g.pending)}`,
    'downtime (s)': (c.downtimeMs / 1000).toFixed(1),
    'contributors per merge': s.contributorsPerMerge?.toFixed(2) ?? '–',
    'bytes per learner step': s.bytesPerLearnerStep === null ? '–' : `${tok(s.bytesPerLearnerStep)} (in + out at the coordinator, join snapshots excluded)`,
    'data-parallel bytes per learner step': `${tok(s.dpBytesPerLearnerStep)} (2 × 4 B × parameters: an fp32 gradient up, the fp32 update down)`,
    'fewer bytes than data-parallel': s.dpBytesRatio === null ? '–' : `${s.dpBytesRatio.toFixed(1)}×`,
    'LR clock at the end': s.progress === null ? 'coordinator default plan' : `${(100 * s.progress).toFixed(0)}% of planned tokens` })
    .map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(String(v))}</td></tr>`).join('');
  // JSON inside <script>: '<' escaped so no string in it can close the element.
  const json = JSON.stringify(charts(c)).replace(/</g, '\\u003c');
  return `<!doctype html><meta charset="utf-8"><title>tabswarm swarm report</title>
<style>body{font:15px system-ui,sans-serif;margin:2rem}th{text-align:left;padding-right:1rem}#plots{display:grid;grid-template-columns:repeat(auto-fill,minmax(660px,1fr));gap:1rem}</style>
<style>${uplotFile('uPlot.min.css')}</style><script>${uplotFile('uPlot.iife.min.js')}</script>
<h1>tabswarm swarm report</h1><table>${rows}</table>
<h2>Plots</h2><div id="plots"></div>
<script>
for (const c of ${json}) {
  const el = document.createElement('div');
  el.dataset.chart = c.id;
  document.getElementById('plots').append(el);
  new uPlot({ ...c.opts, width: 640, height: 260 }, c.data, el);
}
</script>`;
}
