/**
 * `npm run compare -- <report dir or report.json>... [--target LOSS] [--at TOKENS]`: one table over `npm run swarm` runs
 * (docs/method.md §9): held-out loss at the merged and at the trained tokens every run reached, seconds to a held-out loss
 * (default: the worst of the runs' best losses), goodput, contributors per merge and bytes against fp32
 * data-parallel. `--at TOKENS` compares at that many tokens instead (e.g. the run's planned `--tokens`, where
 * every LR schedule ends). Writes compare.json beside the first report unless --out says where.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { compareRuns, type LossPoint, type Progress } from './compare-runs';
import type { SwarmSummary } from './swarm-summary';

interface Sample { coordinator: { loss: LossPoint[]; mergedTokens: number; goodput: { trained: number } | null } }
interface Report { args: Record<string, string>; summary: SwarmSummary; samples: Sample[] }

const progressOf = (r: Report): Progress[] =>
  r.samples.flatMap((s) => (s.coordinator.goodput ? [{ merged: s.coordinator.mergedTokens, trained: s.coordinator.goodput.trained }] : []));

const { values, positionals } = parseArgs({ allowPositionals: true, options: { target: { type: 'string' }, at: { type: 'string' }, out: { type: 'string' } } });
if (positionals.length === 0) {
  console.error('usage: npm run compare -- <report dir or report.json>... [--target LOSS] [--at TOKENS] [--out FILE]');
  process.exit(2);
}
const files = positionals.map((p) => (existsSync(resolve(p, 'report.json')) ? resolve(p, 'report.json') : resolve(p)));
const reports = files.map((f) => JSON.parse(readFileSync(f, 'utf8')) as Report);
const num = (flag: string, v: string | undefined): number | undefined => {
  if (v === undefined) return undefined;
  if (!Number.isFinite(Number(v))) { console.error(`--${flag} ${v}: want a number`); process.exit(2); }
  return Number(v);
};
const target = num('target', values.target), at = num('at', values.at);
const names = reports.map((r, i) => `${r.args['method'] ?? 'decoupled'} ${dirname(files[i]!).split('/').at(-1)}`);
let c: ReturnType<typeof compareRuns>;
try {
  c = compareRuns(reports.map((r, i) => ({ name: names[i]!, curve: r.samples.at(-1)!.coordinator.loss, progress: progressOf(r) })), target, at);
} catch (e) {
  console.error((e as Error).message);
  process.exit(2);
}

const pct = (x: number | null | undefined): string => (x == null ? '–' : `${(100 * x).toFixed(1)}%`);
const tok = (x: number): string => Math.round(x).toLocaleString('en');
console.log(`held-out loss at ${tok(c.atTokens)} merged tokens and at ${c.atTrained === undefined ? '–' : tok(c.atTrained)} trained tokens; seconds to loss ${c.target.toFixed(4)}\n`);
console.log('| run | contributors per merge | goodput | fewer bytes than fp32 DP | loss at equal merged tokens | loss at equal trained tokens | best loss | s to target |');
console.log('|---|---|---|---|---|---|---|---|');
c.runs.forEach((r, i) => {
  const s = reports[i]!.summary;
  console.log(`| ${r.name} | ${s.contributorsPerMerge?.toFixed(2) ?? '–'} | ${pct(s.goodput.ratio)} | ${s.dpBytesRatio === null ? '–' : `${s.dpBytesRatio.toFixed(1)}×`} | ` +
    `${r.lossAtTokens.toFixed(4)} | ${r.lossAtTrained?.toFixed(4) ?? '–'} | ${r.bestLoss.toFixed(4)} | ${r.secondsToTarget === null ? 'never' : r.secondsToTarget.toFixed(1)} |`);
});
const out = values.out ?? resolve(dirname(files[0]!), 'compare.json');
writeFileSync(out, JSON.stringify({ files, ...c, summaries: reports.map((r) => r.summary) }, null, 2));
console.log(`\nwritten: ${out}`);
