/**
 * The operator secret of `npm start`: made once, kept in `.tabswarm/operator-secret` (mode 0600,
 * gitignored), and from then on the only signalling token that may register a coordinator id. So the
 * coordinator's id is pinned across signalling restarts, and nobody without the file can take it
 * (docs/security.md "Operator secret"). The coordinator page gets it once in its URL fragment (`#op=`,
 * which no server sees) and keeps it in its localStorage.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** 128 random bits as 32 hex digits, the shape of a coordinator's own token (packages/net/src/ids.ts). */
const SECRET = /^[0-9a-f]{32}$/;

/** The secret in `file`, made now if absent; `created` says whether this call made it (print it then only). */
export function operatorSecret(file: string): { secret: string; created: boolean } {
  if (existsSync(file)) {
    const secret = readFileSync(file, 'utf8').trim();
    if (!SECRET.test(secret)) throw new Error(`${file} does not hold an operator secret (32 hex digits); delete it to make a new one`);
    chmodSync(file, 0o600);
    return { secret, created: false };
  }
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const secret = randomBytes(16).toString('hex');
  writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' }); // wx: never overwrite one made meanwhile
  return { secret, created: true };
}
