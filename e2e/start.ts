/**
 * `npm start [-- --model tiny|small|default|large --workload text|digits --lan --https --port 5173
 * --signal-port 9000 --run demo]`: builds if needed, starts the signalling server and the page server,
 * and prints the coordinator URL; once that page is open it reports its join URL, which pins the run key
 * the page made (packages/testing join-report.ts), and this prints it too. Ctrl-C stops both.
 * The first start makes the operator secret (.tabswarm/operator-secret) and prints the coordinator URL
 * carrying it; later starts point to the file instead of printing it again.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { describePreset, MODEL_PRESETS, parsePreset } from '../packages/model/src/presets';
import { startStack } from '@tabswarm/testing';
import { operatorSecret } from './operator-secret';
import { START_DEFAULTS } from './start-defaults';

const { values } = parseArgs({
  options: {
    lan: { type: 'boolean', default: false },
    https: { type: 'boolean', default: false },
    port: { type: 'string', default: '5173' },
    'signal-port': { type: 'string', default: '9000' },
    run: { type: 'string', default: 'demo' },
    workload: { type: 'string', default: START_DEFAULTS.workload },
    model: { type: 'string' },
  },
});
if (values.workload !== 'text' && values.workload !== 'digits') throw new Error(`--workload ${values.workload}: want text or digits`);
const workload = values.workload;
// Digits has one network; text starts at the CPU-laptop preset unless --model says otherwise.
const model = parsePreset(workload, values.model ?? (workload === 'text' ? START_DEFAULTS.model : 'default'));

const secretFile = resolve(import.meta.dirname, '..', '.tabswarm', 'operator-secret');
const { secret, created } = operatorSecret(secretFile);
let joinUrl = '';
/** Printed when the coordinator page reports it (each time it changes: another run id, a new key). */
const printJoin = (url: string, runId: string): void => {
  if (runId !== values.run || url === joinUrl) return;
  joinUrl = url;
  console.log(`\n  join URL:    ${url}\n  (from the coordinator page: give this to the class; its #coord= is the run key learners check, and the page's QR code carries the same URL)`);
};
const stack = await startStack({ lan: values.lan, https: values.https, port: Number(values.port), signalPort: Number(values['signal-port']), operatorSecret: secret, onJoinUrl: printJoin });
const q = new URLSearchParams({ run: values.run, workload, model, signal: stack.signal });
console.log(`\ntabswarm is up: workload ${workload}, model ${describePreset(workload, model)}.`);
if (created) {
  console.log(`  coordinator: ${stack.baseUrl}/coordinator/?${q}#op=${secret}`);
  console.log(`  (shown once: the operator secret after #op= pins the coordinator's id at the signalling server; it is kept in ${secretFile}, and the page remembers it)`);
} else {
  console.log(`  coordinator: ${stack.baseUrl}/coordinator/?${q}`);
  console.log(`  (a browser that has not opened it before: add #op=<the contents of ${secretFile}>)`);
}
console.log(`  join URL:    printed here once the coordinator page is open (it makes the run key); the page shows it too, with a QR code`);
console.log(`  signalling:  ${stack.signal}${values.lan ? '' : ' (this machine only; add --lan --https for volunteers on your network)'}`);
console.log('Open the coordinator first, then its join URL in as many tabs or machines as you like. Ctrl-C to stop.');
if (workload === 'text') {
  console.log(`Another model: npm start -- --model <${MODEL_PRESETS.join('|')}> (or model=… in the coordinator URL); ` +
    `${START_DEFAULTS.model} suits a CPU laptop, default (1.8M) and large (10.8M) want WebGPU learners.`);
}

const stop = async (): Promise<void> => { await stack.close(); process.exit(0); };
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
