/**
 * Starts what a swarm needs on this machine: the static data files, a build of the pages (when the
 * sources are newer), the PeerJS signalling server and a static page server. Used by `npm start`,
 * `npm run swarm` and the Playwright fixture. Everything binds to 127.0.0.1 unless `lan` is set.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { resolve } from 'node:path';
import { build, preview } from 'vite';
import { startSignalling, type Signalling } from '@tabswarm/net/server';
import { joinReportPlugin } from './join-report';

// The tabswarm checkout this package lives in (packages/testing/src): its pages, data and signalling server.
const ROOT = resolve(import.meta.dirname, '../../..');

export interface StackOptions {
  port?: number;
  signalPort?: number;
  /** Bind to every interface so volunteers on the local network can join. */
  lan?: boolean;
  /** Serve pages and signalling over HTTPS with a locally generated certificate (WebGPU needs a secure context off localhost). */
  https?: boolean;
  quiet?: boolean;
  /** The operator secret: the only signalling token that may register coordinator ids (`npm start` makes one). */
  operatorSecret?: string;
  /** Without an operator secret, keep the trust-on-first-use pins of coordinator ids in this file. */
  pinsFile?: string;
  /** Called with each join URL a coordinator page holding the operator secret reports (join-report.ts): `npm start` prints it. */
  onJoinUrl?: (url: string, runId: string) => void;
}

export interface Stack {
  baseUrl: string;
  signal: string;
  signalling: Signalling;
  /** The operator secret the signalling server was started with, if any (a coordinator presents it as `#op=`). */
  operatorSecret?: string;
  /** The last join URL each run's coordinator page reported, by run id (only with an operator secret). */
  joinUrls: ReadonlyMap<string, string>;
  close(): Promise<void>;
}

function newestMtime(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
    const p = resolve(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** Build data and pages only when their inputs changed: a second `npm start` starts in seconds. */
export async function ensureBuilt(quiet = false): Promise<void> {
  if (!existsSync(resolve(ROOT, 'public/data/text/train.bin')) || !existsSync(resolve(ROOT, 'public/data/digits/train.bin'))) {
    execFileSync(process.execPath, ['--import', 'tsx', resolve(ROOT, 'packages/model/scripts/build-data.ts')], { stdio: quiet ? 'ignore' : 'inherit', cwd: ROOT });
  }
  const stamp = resolve(ROOT, 'dist/index.html');
  const sources = Math.max(newestMtime(resolve(ROOT, 'apps')), ...['core', 'model', 'net', 'worker'].map((p) => newestMtime(resolve(ROOT, 'packages', p, 'src'))), statSync(resolve(ROOT, 'vite.config.ts')).mtimeMs);
  if (!existsSync(stamp) || statSync(stamp).mtimeMs < sources) {
    await build({ configFile: resolve(ROOT, 'vite.config.ts'), logLevel: quiet ? 'error' : 'info' });
  }
}

function certificate(): { key: string; cert: string } {
  const dir = resolve(ROOT, '.certs');
  const key = resolve(dir, 'key.pem'), cert = resolve(dir, 'cert.pem');
  if (!existsSync(cert)) {
    mkdirSync(dir, { recursive: true });
    // A self-signed certificate for this machine; browsers ask the visitor to accept it once.
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '365', '-subj', '/CN=tabswarm-local', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  }
  return { key, cert };
}

export async function startStack(o: StackOptions = {}): Promise<Stack> {
  await ensureBuilt(o.quiet);
  const host = o.lan ? '0.0.0.0' : '127.0.0.1';
  const tls = o.https ? certificate() : undefined;
  const signalling = await startSignalling({
    host, port: o.signalPort ?? 0, ...(tls ? { tls } : {}),
    ...(o.operatorSecret ? { coordinatorToken: o.operatorSecret } : {}), ...(o.pinsFile ? { pinsFile: o.pinsFile } : {}),
  });
  const joinUrls = new Map<string, string>();
  const reports = o.operatorSecret ? [joinReportPlugin(o.operatorSecret, (url, runId) => { joinUrls.set(runId, url); o.onJoinUrl?.(url, runId); })] : [];
  let server: Awaited<ReturnType<typeof preview>>;
  try {
    server = await preview({
      configFile: resolve(ROOT, 'vite.config.ts'),
      logLevel: 'error',
      plugins: reports,
      preview: { host, port: o.port ?? 0, strictPort: o.port !== undefined, open: false, ...(tls ? { https: { key: readText(tls.key), cert: readText(tls.cert) } } : {}) },
    });
  } catch (e) {
    // The caller gets no Stack to close, so the signalling server it started goes here (a taken --port).
    await signalling.close();
    throw e;
  }
  const addr = server.httpServer.address();
  const port = typeof addr === 'object' && addr ? addr.port : o.port ?? 0;
  const shown = o.lan ? lanAddress() : '127.0.0.1';
  return {
    baseUrl: `${tls ? 'https' : 'http'}://${shown}:${port}`,
    signal: `${shown}:${signalling.port}`,
    signalling,
    ...(o.operatorSecret ? { operatorSecret: o.operatorSecret } : {}),
    joinUrls,
    close: async () => {
      try {
        await server.close();
      } finally {
        await signalling.close(); // even if the page server's close failed: its port must not outlive the stack
      }
    },
  };
}

const readText = (p: string): string => readFileSync(p, 'utf8');

function lanAddress(): string {
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  return '127.0.0.1';
}
