/**
 * `npm run sim [-- --seed N --quick --timings paper,browser]`: the seeded simulator's two reports.
 *  1. Goodput under failures: the paper's chaos grid (systems × total chips at MTBI 1 year). Its constants
 *     are chip failure rates and restart times, not swarm timings: it is printed once.
 *  2. Training quality at equal tokens: data-parallel vs synchronous DiLoCo vs Decoupled DiLoCo, once per
 *     timings preset (timings.ts: 'paper' the kind original values, 'browser' measured in real tabs);
 *     both unless --timings names one.
 * Prints the tables and writes reports/sim/sim.json, with each preset's values.
 * `npm run sim -- --robust [--seed N --quick]` instead runs the robustness tax (merge 'rda' vs
 * 'centered-clip' without attackers, the quality table's seeds and sizes) and writes reports/sim/robust.json.
 * `npm run sim -- --churn [--seed N --quick]` instead runs the churn loss gap (half the learners killed every
 * 270 steps vs no faults, ten seeds from N, three with --quick) and writes reports/sim/churn.json.
 * `npm run sim -- --downlink [--seed N --quick --H N]` instead runs the downlink comparison (fp32, fp16, int8,
 * int4: bytes per learner step and held-out loss, the quality table's seeds) and writes reports/sim/downlink.json.
 * `npm run sim -- --outer [--seed N --quick]` instead runs the outer-step comparison under single-contributor
 * merges (K=1, no grace, 3× speed spread: plain Nesterov, Delayed Nesterov, lowered η, 'auto'; and with grace)
 * and writes reports/sim/outer.json.
 * `npm run sim -- --bytes [--seed N --quick]` instead runs the bytes table (H ∈ {12, 24, 48, 96} × downlink fp32,
 * int8, int4: bytes per learner step on the digits MLP's size vs fp32 data-parallel, analytic prediction, held-out
 * loss on seeds N..N+2), prints it as markdown and writes reports/sim/bytes.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { goodputTable } from '../src/sim/goodput';
import { DEFAULT_QUALITY, qualityAt, qualityComparison } from '../src/sim/quality';
import { formatGoodputTable } from '../src/sim/table';
import { formatQualityTable } from '../src/sim/quality-table';
import { formatRobustTaxTable, robustnessTax } from '../src/sim/robust-tax';
import { churnGap, DEFAULT_CHURN_GAP, formatChurnGap } from '../src/sim/churn-gap';
import { parseTimings, TIMINGS } from '../src/sim/timings';
import { downlinkComparison, formatDownlinkTable } from '../src/sim/downlink-cost';
import { DEFAULT_OUTER_MODES, formatOuterModeTable, outerModeComparison } from '../src/sim/outer-modes';
import { bytesTable, DEFAULT_BYTES_TABLE, formatBytesTable } from '../src/sim/bytes-table';

const { values } = parseArgs({ options: { seed: { type: 'string', default: '1' }, quick: { type: 'boolean', default: false }, robust: { type: 'boolean', default: false }, churn: { type: 'boolean', default: false }, downlink: { type: 'boolean', default: false }, outer: { type: 'boolean', default: false }, bytes: { type: 'boolean', default: false }, H: { type: 'string' }, timings: { type: 'string', default: 'paper,browser' }, out: { type: 'string', default: 'reports/sim' } } });
const seed = Number(values.seed);
const qOpts = { ...DEFAULT_QUALITY, seeds: [seed, seed + 1, seed + 2], ...(values.quick ? { tokens: 100_000 } : {}), ...(values.H ? { H: Number(values.H) } : {}) };
let timings;
try {
  timings = values.timings.split(',').map(parseTimings);
} catch (e) {
  console.error((e as Error).message);
  process.exit(2);
}

const save = (name: string, data: unknown): void => {
  mkdirSync(values.out, { recursive: true });
  writeFileSync(`${values.out}/${name}`, JSON.stringify(data, null, 2));
  console.log(`\nwrote ${values.out}/${name}`);
};

/** One study: `run` gives the table to print and what to save; the time it took is printed after the table. */
const study = (file: string, run: () => { table: string; data: object }): void => {
  const t0 = performance.now();
  const { table, data } = run();
  console.log(table);
  console.log(`(${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  save(file, { seed, ...data });
};

if (values.bytes) {
  study('bytes.json', () => {
    // --quick: half the periods and a third of the tokens (a rougher table: ±1 pull in 10 per fragment).
    const o = { ...DEFAULT_BYTES_TABLE, seeds: [seed, seed + 1, seed + 2], ...(values.quick ? { periods: 10, tokens: 20_000 } : {}) };
    const rows = bytesTable(o);
    return { table: formatBytesTable(rows, o), data: { options: o, rows } };
  });
} else if (values.outer) {
  study('outer.json', () => {
    const o = { ...qOpts, speedSpread: DEFAULT_OUTER_MODES.speedSpread };
    const rows = outerModeComparison(o);
    return { table: formatOuterModeTable(rows, o), data: { options: o, rows } };
  });
} else if (values.downlink) {
  study('downlink.json', () => {
    const rows = downlinkComparison(qOpts);
    return { table: formatDownlinkTable(rows, qOpts), data: { options: qOpts, rows } };
  });
} else if (values.churn) {
  study('churn.json', () => {
    const o = { ...DEFAULT_CHURN_GAP, seeds: Array.from({ length: values.quick ? 3 : 10 }, (_, i) => seed + i) };
    const r = churnGap(o);
    return { table: formatChurnGap(r, o), data: { options: o, result: r } };
  });
} else if (values.robust) {
  study('robust.json', () => {
    const rows = robustnessTax(qOpts);
    return { table: formatRobustTaxTable(rows, qOpts), data: { options: qOpts, rows } };
  });
} else {
  let t0 = performance.now();
  const goodput = goodputTable({ seed, ...(values.quick ? { constants: { horizonHours: 72 } } : {}) });
  console.log(formatGoodputTable(goodput));
  console.log(`(${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);

  const quality = timings.map((name) => {
    t0 = performance.now();
    const options = qualityAt(name, qOpts);
    const rows = qualityComparison(options);
    console.log(formatQualityTable(rows, options));
    console.log(`(${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
    return { timings: { name, ...TIMINGS[name] }, options, rows };
  });
  save('sim.json', { seed, goodput, quality });
}
