/**
 * `npx tsx packages/net/server/signal-cli.ts --port 9000 [--host 127.0.0.1] [--origins http://a,http://b]
 *   [--coordinator-token T | env TABSWARM_COORDINATOR_TOKEN] [--pins FILE] [--concurrent-limit 1000] [--max-per-ip 256]`
 * With a coordinator token (the operator secret) only it may register coordinator ids; without one, ids
 * are pinned to their first token, in FILE across restarts when --pins is given (docs/security.md).
 */
import { parseArgs } from 'node:util';
import { startSignalling } from './signal';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '9000' },
    host: { type: 'string', default: '127.0.0.1' },
    path: { type: 'string', default: '/signal' },
    key: { type: 'string', default: 'tabswarm' },
    origins: { type: 'string' },
    'coordinator-token': { type: 'string' },
    pins: { type: 'string' },
    'concurrent-limit': { type: 'string' },
    'max-per-ip': { type: 'string' },
    'tls-key': { type: 'string' },
    'tls-cert': { type: 'string' },
    quiet: { type: 'boolean', default: false },
  },
});

const num = (s: string | undefined): number | undefined => (s === undefined ? undefined : Number(s));
const tlsKey = values['tls-key'], tlsCert = values['tls-cert'];
const coordinatorToken = values['coordinator-token'] ?? process.env.TABSWARM_COORDINATOR_TOKEN;

const signalling = await startSignalling({
  host: values.host,
  port: Number(values.port),
  path: values.path,
  key: values.key,
  ...(values.origins ? { origins: values.origins.split(',').map((s) => s.trim()).filter(Boolean) } : {}),
  ...(coordinatorToken ? { coordinatorToken } : {}),
  ...(values.pins ? { pinsFile: values.pins } : {}),
  ...(values['concurrent-limit'] ? { concurrentLimit: num(values['concurrent-limit']) } : {}),
  ...(values['max-per-ip'] ? { maxSocketsPerIp: num(values['max-per-ip']) } : {}),
  ...(tlsKey && tlsCert ? { tls: { key: tlsKey, cert: tlsCert } } : {}),
  log: values.quiet ? undefined : (line) => console.log(line),
});
console.log(`tabswarm signalling: ${signalling.url}/id  (reserved coordinator ids: ${coordinatorToken ? 'token required' : 'trust on first use'})`);

const stop = async (): Promise<void> => {
  await signalling.close();
  process.exit(0); // peer's internal timers would keep the process alive
};
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
