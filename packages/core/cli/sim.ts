/**
 * `npm run sim [-- --seed N --quick]`: the seeded simulator's two reports.
 *  1. Goodput under failures: the paper's chaos grid (systems × total chips at MTBI 1 year).
 *  2. Training quality at equal tokens: data-parallel vs synchronous DiLoCo vs Decoupled DiLoCo.
 * Prints both tables and writes reports/sim/sim.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { goodputTable } from '../src/sim/goodput';
import { DEFAULT_QUALITY, qualityComparison } from '../src/sim/quality';
import { formatGoodputTable } from '../src/sim/table';
import { formatQualityTable } from '../src/sim/quality-table';

const { values } = parseArgs({ options: { seed: { type: 'string', default: '1' }, quick: { type: 'boolean', default: false }, out: { type: 'string', default: 'reports/sim' } } });
const seed = Number(values.seed);

let t0 = performance.now();
const goodput = goodputTable({ seed, ...(values.quick ? { constants: { horizonHours: 72 } } : {}) });
console.log(formatGoodputTable(goodput));
console.log(`(${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);

t0 = performance.now();
const qOpts = { ...DEFAULT_QUALITY, seeds: [seed, seed + 1, seed + 2], ...(values.quick ? { tokens: 100_000 } : {}) };
const quality = qualityComparison(qOpts);
console.log(formatQualityTable(quality, qOpts));
console.log(`(${((performance.now() - t0) / 1000).toFixed(1)} s)`);

mkdirSync(values.out, { recursive: true });
writeFileSync(`${values.out}/sim.json`, JSON.stringify({ seed, goodput, quality: { options: qOpts, rows: quality } }, null, 2));
console.log(`\nwrote ${values.out}/sim.json`);
