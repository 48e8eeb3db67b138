import type { CoordinatorView } from './fixture';
import type { SwarmSummary } from './swarm-summary';

/** A self-contained HTML report: the run's parameters, final numbers (goodput, downtime, contributors, bytes) and an inline SVG loss curve. */
export function reportHtml(c: CoordinatorView, meta: Record<string, string | number>, s: SwarmSummary): string {
  const pts = c.loss;
  const w = 640, h = 280, pad = 44;
  const xs = pts.map((p) => p.tokens), ys = pts.map((p) => p.loss);
  const x0 = Math.min(...xs, 0), x1 = Math.max(...xs, 1), y0 = Math.min(...ys, Infinity), y1 = Math.max(...ys, -Infinity);
  const X = (x: number): number => pad + ((x - x0) / (x1 - x0 || 1)) * (w - 2 * pad);
  const Y = (y: number): number => pad / 2 + (1 - (y - y0) / (y1 - y0 || 1)) * (h - 1.5 * pad);
  const path = pts.map((p, i) => `${i ? 'L' : 'M'}${X(p.tokens).toFixed(1)},${Y(p.loss).toFixed(1)}`).join(' ');
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
  return `<!doctype html><meta charset="utf-8"><title>tabswarm swarm report</title>
<style>body{font:15px system-ui,sans-serif;margin:2rem}th{text-align:left;padding-right:1rem}</style>
<h1>tabswarm swarm report</h1><table>${rows}</table>
<h2>Held-out loss vs merged tokens</h2>
<svg width="${w}" height="${h}" viewBox="0 0 ${w} ${h}"><rect x="${pad}" y="${pad / 2}" width="${w - 2 * pad}" height="${h - 1.5 * pad}" fill="none" stroke="#999"/>
<text x="2" y="${pad / 2 + 10}" font-size="11">${Number.isFinite(y1) ? y1.toFixed(3) : ''}</text><text x="2" y="${h - pad}" font-size="11">${Number.isFinite(y0) ? y0.toFixed(3) : ''}</text>
<text x="${w - 160}" y="${h - 8}" font-size="11">${Math.round(x1).toLocaleString('en')} tokens</text>
<path d="${path}" fill="none" stroke="#1565c0" stroke-width="2"/></svg>`;
}
