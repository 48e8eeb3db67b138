import { ConfigError, DEFAULT_GRACE, DEFAULT_OUTER, DEFAULT_SYNC, makeSyncConfig, type Downlink, type GraceConfig, type MergeMode, type OuterConfig, type SyncConfig } from '@tabswarm/core';
import { parseLinkMbps } from '@tabswarm/net';
import { DIGITS_PRESET, parsePreset, TEXT_PRESETS, type ModelPreset } from '@tabswarm/worker';

/** The coordinator's URL parameters; every hyperparameter is shown on the page. */
export interface CoordinatorConfig {
  sync: SyncConfig;
  workload: 'text' | 'digits';
  /** Model preset (presets.ts in @tabswarm/model); the join URL carries it to the learners. */
  model: ModelPreset;
  seed: number;
  evalBackend: string | undefined;
  /** Examples per learner step in this run (URL `batch`, default the preset's, as on the learner page): with the
   * model's context it makes the run's tokens per step, which every hello must match (SyncConfig.tokensPerStep). */
  batch: number;
  evalEveryMs: number;
  /** Seed of the chaos panel's random choices. */
  chaosSeed: number;
  /** Cap on this page's sends to each learner, megabits/s per link (Infinity: none); `npm run swarm -- --link-mbps`. */
  linkMbps: number;
  /** URL of a .safetensors model a new run starts from (`?init=`); ignored when the run is already stored. */
  init: string | undefined;
  signal: { host: string; port: number; path: string; key: string; secure: boolean };
  iceServers: RTCIceServer[];
  /** Merge-log entries retention always keeps, in commits (all it keeps after a full quota). */
  logTail: number;
  /** The stored merge log's budget (bytes, `?logMB=`): past it, each commit also prunes one bounded chunk. */
  logBudgetBytes: number;
  /** Pruned log pieces this page holds for download at most (bytes, `?prunedMB=`), oldest let go first. */
  prunedHoldBytes: number;
  /** The operator secret (operator.ts): presented as the signalling token of the coordinator id. */
  operatorSecret?: string;
}

function positiveNum(name: string, v: number): number {
  if (!(Number.isFinite(v) && v > 0)) throw new ConfigError(`${name}=${v}: want a number > 0`);
  return v;
}

function positiveInt(name: string, v: number): number {
  if (!(Number.isInteger(v) && v >= 1)) throw new ConfigError(`${name}=${v}: want a whole number >= 1`);
  return v;
}

/**
 * Centered clipping holds against f attackers only when a merge has an honest majority, K ≥ 2f + 1
 * (docs/fault-tolerance.md §3): with K = 1 or 2 a merge of one push is that push, and one attacker in a
 * merge of two is half of it. A public run that asks for the robust merge with a K that cannot give it is
 * refused, not run unprotected. (The simulator's robustness-tax table measures centered-clip at K = 1 on
 * purpose, through the core's config, which allows it.)
 */
function checkRobustQuorum(c: SyncConfig): SyncConfig {
  if (c.merge === 'centered-clip' && c.K < 3) throw new ConfigError(`merge=centered-clip with K=${c.K}: the robust merge needs K >= 2f + 1 >= 3 against f attackers; set K=3 or more`);
  return c;
}

export function readConfig(url = new URL(location.href)): CoordinatorConfig {
  const q = url.searchParams;
  const num = (k: string, d: number): number => (q.has(k) ? Number(q.get(k)) : d);
  const [host, port] = (q.get('signal') ?? `${location.hostname}:9000`).split(':');
  const workload = q.get('workload') === 'digits' ? 'digits' : 'text';
  let model: ModelPreset;
  try {
    model = parsePreset(workload, q.get('model'));
  } catch (e) {
    throw new ConfigError((e as Error).message);
  }
  // The preset's sync period and peak inner learning rate unless H= and lr= are given.
  const preset = workload === 'digits' ? DIGITS_PRESET : TEXT_PRESETS[model];
  return {
    sync: checkRobustQuorum(makeSyncConfig({
      runId: q.get('run') ?? 'demo', P: num('P', 4), H: num('H', preset.H), K: num('K', 1), tau: num('tau', 2),
      plannedTokens: num('tokens', 5e6), uplinkCodec: num('codec', 3), downlink: (q.get('downlink') ?? DEFAULT_SYNC.downlink) as Downlink, // makeSyncConfig refuses anything else
      maxStrikes: num('strikes', 5), merge: (q.get('merge') ?? 'rda') as MergeMode, // makeSyncConfig refuses anything else
      // The baselines of docs/method.md §9 (npm run swarm -- --method diloco|dp): lockstep learners, and the
      // outer step data-parallel needs (η = 1, μ = 0: Θ ← the merged parameters).
      lockstep: q.get('lockstep') === '1',
      outer: { ...DEFAULT_OUTER, lr: num('outerLr', DEFAULT_OUTER.lr), momentum: num('momentum', DEFAULT_OUTER.momentum), kind: (q.get('outer') ?? DEFAULT_OUTER.kind) as OuterConfig['kind'] },
      innerLr: { ...DEFAULT_SYNC.innerLr, peak: num('lr', preset.lr) },
      // grace=arrivals (default) | eq3 (the paper's Eq. 3 alone) | off (close at the quorum): docs/method.md §4
      grace: { ...DEFAULT_GRACE, rule: (q.get('grace') ?? DEFAULT_GRACE.rule) as GraceConfig['rule'] }, // makeSyncConfig refuses anything else
    })),
    workload,
    model,
    seed: num('seed', 1),
    evalBackend: q.get('evalBackend') ?? undefined,
    batch: positiveInt('batch', num('batch', preset.batch)),
    evalEveryMs: num('evalMs', 5000),
    chaosSeed: num('chaosSeed', 1),
    logTail: Math.max(0, Math.floor(num('logTail', 256))),
    // 256 MB holds ≈ 30 minutes of a 3-tab digits run's log (≈150 kB a commit) or 3.5 minutes of data-parallel
    // (≈1.2 MB a commit); a fresh profile's quota is gigabytes, so the budget, not the quota, decides.
    logBudgetBytes: 1e6 * positiveNum('logMB', num('logMB', 256)),
    prunedHoldBytes: 1e6 * positiveNum('prunedMB', num('prunedMB', 512)),
    linkMbps: parseLinkMbps(q.get('linkMbps')),
    init: q.get('init') ?? undefined,
    signal: { host: host ?? location.hostname, port: Number(port ?? 9000), path: '/signal', key: 'tabswarm', secure: location.protocol === 'https:' },
    iceServers: q.get('ice') ? (JSON.parse(q.get('ice')!) as RTCIceServer[]) : [],
  };
}
