/**
 * How `npm start` learns the join URL it prints. The run's key is made in the coordinator page, so
 * nothing on this side knows the fingerprint the join URL pins (`#coord=`) until that page is open; the
 * page then reports its join URL to the page server that served it: `POST /tabswarm/join-url`, the URL as
 * the body, the operator secret in the `X-Tabswarm-Operator` header (apps/coordinator/src/join-report.ts).
 * Only a page holding the operator secret is believed: anyone who can reach the page server (a LAN with
 * `--lan`) could otherwise make the terminal print a join URL pinning an impostor's key.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Plugin } from 'vite';

export const JOIN_REPORT_PATH = '/tabswarm/join-url';
export const OPERATOR_HEADER = 'x-tabswarm-operator';
/** A join URL is a few hundred bytes; more is not one. */
export const MAX_REPORT_BYTES = 4096;
/** base64url SHA-256 of the run key, as packages/net identity.ts writes it. */
const PINNED = /^#coord=[A-Za-z0-9_-]{43}$/;

export type JoinReport = { ok: true; url: string; runId: string } | { ok: false; status: number; why: string };

function sameSecret(given: string | undefined, secret: string): boolean {
  const a = Buffer.from(given ?? ''), b = Buffer.from(secret);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** What the page server makes of one report: the join URL to print, or the refusal with its HTTP status. */
export function checkJoinReport(method: string | undefined, operator: string | undefined, body: string, secret: string): JoinReport {
  if (method !== 'POST') return { ok: false, status: 405, why: `${method ?? 'no method'}: only POST reports a join URL` };
  if (!sameSecret(operator, secret)) return { ok: false, status: 403, why: 'the operator secret is missing or wrong' };
  let url: URL;
  try {
    url = new URL(body);
  } catch {
    return { ok: false, status: 400, why: 'the body is not a URL' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { ok: false, status: 400, why: `${url.protocol} is not http or https` };
  if (!url.pathname.endsWith('/learner/')) return { ok: false, status: 400, why: `${url.pathname} is not the learner page` };
  if (!PINNED.test(url.hash)) return { ok: false, status: 400, why: 'the URL pins no run key (#coord=<43 base64url characters>)' };
  const runId = url.searchParams.get('run');
  if (!runId) return { ok: false, status: 400, why: 'the URL names no run' };
  return { ok: true, url: url.href, runId };
}

/** The body, or undefined once it passes MAX_REPORT_BYTES (the request is then answered 413). */
function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    req.on('data', (c: Buffer) => {
      n += c.length;
      if (n > MAX_REPORT_BYTES) { resolve(undefined); req.destroy(); return; }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** A `vite preview` plugin serving the endpoint; `onReport` gets each accepted join URL. */
export function joinReportPlugin(secret: string, onReport: (url: string, runId: string) => void): Plugin {
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = req.method === 'POST' ? await readBody(req) : '';
    const r = body === undefined ? { ok: false as const, status: 413, why: `over ${MAX_REPORT_BYTES} bytes` } : checkJoinReport(req.method, req.headers[OPERATOR_HEADER] as string | undefined, body, secret);
    if (r.ok) onReport(r.url, r.runId);
    res.statusCode = r.ok ? 204 : r.status;
    res.setHeader('content-type', 'text/plain; charset=utf-8');
    res.end(r.ok ? undefined : `join URL refused: ${r.why}\n`);
  };
  return {
    name: 'tabswarm-join-report',
    configurePreviewServer(server) {
      server.middlewares.use(JOIN_REPORT_PATH, (req, res) => {
        handle(req, res).catch(() => { res.statusCode = 400; res.end(); });
      });
    },
  };
}
