/**
 * `npm start [-- --lan --https --port 5173 --signal-port 9000]`: builds if needed, starts the signalling
 * server and the page server, and prints the coordinator URL and the join URL. Ctrl-C stops both.
 */
import { parseArgs } from 'node:util';
import { startStack } from './stack';

const { values } = parseArgs({
  options: {
    lan: { type: 'boolean', default: false },
    https: { type: 'boolean', default: false },
    port: { type: 'string', default: '5173' },
    'signal-port': { type: 'string', default: '9000' },
    run: { type: 'string', default: 'demo' },
    workload: { type: 'string', default: 'text' },
  },
});

const stack = await startStack({ lan: values.lan, https: values.https, port: Number(values.port), signalPort: Number(values['signal-port']) });
const q = new URLSearchParams({ run: values.run, workload: values.workload, signal: stack.signal });
console.log(`\ntabswarm is up.`);
console.log(`  coordinator: ${stack.baseUrl}/coordinator/?${q}`);
console.log(`  join URL:    ${stack.baseUrl}/learner/?${q}`);
console.log(`  signalling:  ${stack.signal}${values.lan ? '' : ' (this machine only; add --lan --https for volunteers on your network)'}`);
console.log('Open the coordinator first, then the join URL in as many tabs or machines as you like. Ctrl-C to stop.');

const stop = async (): Promise<void> => { await stack.close(); process.exit(0); };
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
