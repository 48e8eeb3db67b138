import { planFragments, planHash, Syncer, type ParamLayout } from '@tabswarm/core';
import type { CoordinatorConfig } from './config';
import { recordedEpoch, recordEpoch } from './identity';
import { stateFromModelFile } from './model-file';
import type { CoordinatorStatus } from './status';
import { askPersistence, lostRunDatabase, lostStateMessage, storageFacts } from './storage';
import { DurableStore } from './store';

/**
 * The run's database, keyed by the model's layout and its fragment plan: a run stored under another plan
 * (another P, or the planner before row splitting) is refused, not misread.
 */
export function openStore(cfg: CoordinatorConfig, layout: ParamLayout): Promise<DurableStore> {
  const fragments = planFragments(layout, cfg.sync.P);
  return DurableStore.open(cfg.sync.runId, fragments, `${layout.hash}/plan-${planHash(fragments)}`);
}

/**
 * Start the run's next incarnation from its store (docs/fault-tolerance.md §2): the last commit when there
 * is one; otherwise the model file of `cfg.init`, or `initial` (θ₀), written as the first durable state.
 * A database found gone while this browser recorded a later epoch of the run is refused before anything is
 * written (docs/security.md "Storage"), at every reload, until the operator restarts the run. Fills the
 * status's storage facts; `tokensPerStep` is the model's at the run's batch.
 */
export async function resumeRun(store: DurableStore, cfg: CoordinatorConfig, layout: ParamLayout, tokensPerStep: number, initial: Float32Array, status: CoordinatorStatus): Promise<{ syncer: Syncer; epoch: number; resumed: boolean }> {
  const runId = cfg.sync.runId;
  // Checked before the incarnation counts up: counting up, the reloads would reach the recorded epoch.
  const recorded = await recordedEpoch(runId), last = await store.lastIncarnation();
  if (lostRunDatabase(recorded, last + 1)) {
    status.lostEpoch = recorded;
    throw new Error(lostStateMessage(runId, last + 1, recorded));
  }
  const epoch = await store.nextIncarnation();
  await recordEpoch(runId, epoch);
  const saved = await store.load();
  status.prunedThrough = await store.prunedThrough();
  status.logBytes = store.logBytes;
  // A browser that asks the user may answer after the run started (storage.ts): the page then shows that answer.
  status.storage = await storageFacts(await askPersistence((late) => void storageFacts(late).then((f) => { status.storage = f; })));
  const fragments = planFragments(layout, cfg.sync.P);
  const fromFile = !saved && cfg.init !== undefined ? stateFromModelFile(await fetchModel(cfg.init), layout, fragments) : undefined;
  const syncer = new Syncer({ ...cfg.sync, tokensPerStep }, layout, saved?.theta0 ?? fromFile?.theta ?? initial, epoch);
  if (saved) syncer.restore(saved.state);
  else {
    if (fromFile) syncer.restore(fromFile);
    await store.init(syncer.durable(), fromFile !== undefined);
  }
  return { syncer, epoch, resumed: saved !== undefined };
}

/** A model file by URL, with a deadline: a start must not hang on a server that never answers. */
async function fetchModel(url: string): Promise<Uint8Array> {
  const r = await fetch(url, { signal: AbortSignal.timeout(60_000) });
  if (!r.ok) throw new Error(`init model ${url}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}
