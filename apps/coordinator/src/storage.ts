/**
 * What the browser promises about this page's storage (docs/security.md "Storage"). Without persistent
 * storage the browser may evict the run's database under storage pressure, and with it every acked
 * update, so the coordinator asks for it and shows the answer.
 */
export type Persistence = 'granted' | 'denied' | 'unsupported';

export interface StorageFacts {
  persistence: Persistence;
  /** Bytes this origin uses and may use (navigator.storage.estimate), or null where unknown. */
  usage: number | null;
  quota: number | null;
}

export async function askPersistence(): Promise<Persistence> {
  const s = (navigator as Partial<Navigator>).storage;
  if (!s?.persist) return 'unsupported';
  try {
    return (await s.persisted()) || (await s.persist()) ? 'granted' : 'denied';
  } catch {
    return 'denied'; // e.g. a sandboxed frame: no promise was made
  }
}

export async function storageFacts(persistence: Persistence): Promise<StorageFacts> {
  try {
    const e = await navigator.storage.estimate();
    return { persistence, usage: e.usage ?? null, quota: e.quota ?? null };
  } catch {
    return { persistence, usage: null, quota: null };
  }
}

/**
 * A push this coordinator's state cannot have caused: from a later epoch, or from its own epoch on a base
 * version it never broadcast (a database deleted before the first reload: the new one is epoch 1 again).
 */
export function pushFromLostState(push: { epoch: number; fragment: number; baseVersion: number }, ownEpoch: number, versions: readonly number[]): boolean {
  return push.epoch > ownEpoch || (push.epoch === ownEpoch && push.baseVersion > (versions[push.fragment] ?? 0));
}

/**
 * A META (sent every step boundary, so it arrives whether or not a round is open) reporting a fragment
 * version above this coordinator's own. Asked only before the first commit of a coordinator with no
 * stored state, whose versions are all 0: the learner holds weights of this run that this coordinator
 * never sent, from its own epoch or a later one (META carries no epoch, and neither case is possible for
 * a run that really starts fresh). A learner that kept no unacked push and is not pulled would otherwise
 * show it only in a push that may never come.
 */
export function metaFromLostState(meta: { versions: readonly number[] }, versions: readonly number[]): boolean {
  return meta.versions.some((v, p) => v > (versions[p] ?? 0));
}

/**
 * The run's state is gone if learners hold a newer epoch (or versions) than this coordinator and it never committed
 * nor was told to start over: epochs only rise, one per coordinator start, and learners take theirs
 * from snapshots. A claim in one push is enough to stop and ask, never to act: restarting the run is
 * the operator's call (a stranger can at most make a coordinator that has nothing to lose ask).
 */
export function lostStateMessage(runId: string, ownEpoch: number, learnerEpoch: number): string {
  return `run "${runId}": this coordinator found no committed state (epoch ${ownEpoch}) but learners hold epoch ${learnerEpoch} weights it never sent: `
    + 'the run\'s database is gone (evicted or deleted). It will not silently restart from θ₀. '
    + 'Load a saved state file, or press "Restart the run from θ₀" to start over on purpose.';
}
