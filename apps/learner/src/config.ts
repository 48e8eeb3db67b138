import { ConfigError, parseByzantine } from '@tabswarm/core';
import { FINGERPRINT_PATTERN, isValidSessionSecret, parseLinkMbps, randomToken } from '@tabswarm/net';
import { DIGITS_PRESET, parsePreset, TEXT_PRESETS, type BackendName, type ModelPreset } from '@tabswarm/worker';
import { parseBackendList } from './backend-choice';

/** Everything a learner tab reads from its URL, with defaults that work on localhost. */
export interface LearnerConfig {
  runId: string;
  /** Stable logical id: survives reloads of this tab (sessionStorage), so the coordinator can dedupe. */
  learnerId: string;
  /** The id came from the join URL's `?id=` (the operator chose it), not from this tab's own storage. */
  idFromUrl: boolean;
  /** This tab's secret, kept beside its id: the coordinator binds the id to it, so a reload gets its id back
   * and anyone who only knows the id (a shared `?id=`) is refused (docs/security.md §3). */
  secret: string;
  workload: 'text' | 'digits';
  /** The coordinator's preset (the join URL carries it); it sets the batch default. */
  model: ModelPreset;
  batch: number;
  backend: string | undefined;
  /** `backends=`: the backends this tab may use, in the order it tries them (backend-choice.ts); undefined: all. */
  backends: BackendName[] | undefined;
  signal: { host: string; port: number; path: string; key: string; secure: boolean };
  /** The coordinator key's fingerprint from the join URL's fragment `#coord=`; undefined: trust on first use. */
  coordinator: string | undefined;
  iceServers: RTCIceServer[];
  autostart: boolean;
  /** Train alone, without joining a run: the baseline for the swarm's overhead (npm run bench). */
  solo: boolean;
  /** Cap on this tab's sends to the coordinator, megabits/s (Infinity: none); `npm run swarm -- --link-mbps`. */
  linkMbps: number;
  /** Each training step takes this many times its compute time (≥ 1): a slower device; `npm run swarm -- --throttle`. */
  slowdown: number;
  /** `byzantine=S`, the classroom demo of a hostile tab: it trains honestly but pushes −S × its update and
   * claims the most tokens a push may (core learner/byzantine.ts). Absent: an honest tab. */
  byzantine: number | undefined;
}

function parseSlowdown(v: string | null): number {
  if (v === null) return 1;
  const n = Number(v);
  if (!(v.trim() !== '' && Number.isFinite(n) && n >= 1)) throw new ConfigError(`slowdown=${JSON.stringify(v)}: want a number >= 1 (times slower than this device)`);
  return n;
}

/** `#coord=`: the run key's fingerprint (docs/security.md §2); a cut-short or edited one is refused, never ignored. */
function parseCoordinator(hash: string): string | undefined {
  const fp = new URLSearchParams(hash.slice(1)).get('coord');
  if (fp !== null && !FINGERPRINT_PATTERN.test(fp)) throw new ConfigError(`#coord=${JSON.stringify(fp)}: want 43 base64url characters (the run key's fingerprint; copy the whole join URL)`);
  return fp ?? undefined;
}

function preset(workload: 'text' | 'digits', name: string | null): ModelPreset {
  try {
    return parsePreset(workload, name);
  } catch (e) {
    throw new ConfigError((e as Error).message);
  }
}

const SECRET_KEY = 'tabswarm.sessionSecret';

/** This tab's session secret: 128 random bits, kept in sessionStorage so a reload presents the same one. */
function stableSecret(): string {
  const key = SECRET_KEY;
  try {
    const got = sessionStorage.getItem(key);
    if (isValidSessionSecret(got)) return got;
    const fresh = randomToken();
    sessionStorage.setItem(key, fresh);
    return fresh;
  } catch {
    return randomToken(); // storage disabled: a reload is then a new session, which waits out the old one's hold
  }
}

/** A secret that went to an untrusted coordinator is burnt: the next load of this tab uses a fresh one. */
export function burnSecret(): void {
  try {
    sessionStorage.setItem(SECRET_KEY, randomToken());
  } catch {
    // storage disabled: every load has a fresh secret anyway
  }
}

const ID_KEY = 'tabswarm.learnerId';

/**
 * This tab takes a new identity at its next load: a fresh learner id and secret. For a tab whose id
 * another session holds (a duplicated tab, whose sessionStorage is copied with it; or a squatter that
 * took the id while this tab's link was down past the coordinator's hold): the two go on as two learners.
 */
export function forgetIdentity(): void {
  burnSecret();
  try {
    sessionStorage.removeItem(ID_KEY);
  } catch {
    // storage disabled: every load has a fresh id and secret anyway
  }
}

function stableId(): string {
  const key = ID_KEY;
  const fresh = `l${Math.random().toString(36).slice(2, 10)}`;
  try {
    const got = sessionStorage.getItem(key) ?? fresh;
    sessionStorage.setItem(key, got);
    return got;
  } catch {
    return fresh; // storage can be disabled; a fresh id per load is still correct, only less tidy
  }
}

export function readConfig(url = new URL(location.href)): LearnerConfig {
  const q = url.searchParams;
  const [host, port] = (q.get('signal') ?? `${location.hostname}:9000`).split(':');
  const workload = q.get('workload') === 'digits' ? 'digits' : 'text';
  const model = preset(workload, q.get('model'));
  const defaults = workload === 'digits' ? DIGITS_PRESET : TEXT_PRESETS[model];
  return {
    runId: q.get('run') ?? 'demo',
    learnerId: q.get('id') ?? stableId(),
    idFromUrl: q.has('id'),
    secret: stableSecret(),
    workload,
    model,
    batch: Number(q.get('batch') ?? defaults.batch),
    backend: q.get('backend') ?? undefined,
    backends: parseBackendList(q.get('backends'), q.get('backend') ?? undefined),
    signal: { host: host ?? location.hostname, port: Number(port ?? 9000), path: '/signal', key: 'tabswarm', secure: location.protocol === 'https:' },
    coordinator: parseCoordinator(url.hash),
    iceServers: q.get('ice') ? (JSON.parse(q.get('ice')!) as RTCIceServer[]) : [],
    autostart: q.get('autostart') === '1',
    solo: q.get('solo') === '1',
    linkMbps: parseLinkMbps(q.get('linkMbps')),
    slowdown: parseSlowdown(q.get('slowdown')),
    byzantine: parseByzantine(q.get('byzantine')),
  };
}
