/**
 * What the browser promises about this page's storage (docs/security.md "Storage"). Without persistent
 * storage the browser may evict the run's database under storage pressure, and with it every acked
 * update, so the coordinator asks for it and shows the answer.
 */
export type Persistence = 'granted' | 'denied' | 'unsupported' | 'unanswered';

export interface StorageFacts {
  persistence: Persistence;
  /** Bytes this origin uses and may use (navigator.storage.estimate), or null where unknown. */
  usage: number | null;
  quota: number | null;
}

/**
 * How long a start waits for the browser's answer (ms). A browser may put the question to the user
 * (Firefox shows a prompt) and its promise then stays pending until they answer, or for good where a
 * dismissed prompt answers nothing (the Storage Standard allows it); Chromium answers at once.
 */
export const PERSIST_DEADLINE_MS = 5000;

/**
 * The browser's answer, or 'unanswered' once `deadlineMs` has passed without one: the run starts
 * anyway, and `onLate` gets the answer if it ever comes.
 */
export async function askPersistence(onLate: (p: Persistence) => void = () => undefined, deadlineMs = PERSIST_DEADLINE_MS): Promise<Persistence> {
  const s = (navigator as Partial<Navigator>).storage;
  if (!s?.persist) return 'unsupported';
  let late = false, timer: ReturnType<typeof setTimeout> | undefined;
  const answer = (async (): Promise<Persistence> => {
    try {
      return (await s.persisted()) || (await s.persist()) ? 'granted' : 'denied';
    } catch {
      return 'denied'; // e.g. a sandboxed frame: no promise was made
    }
  })().then((p) => { if (late) onLate(p); return p; });
  const deadline = new Promise<Persistence>((resolve) => { timer = setTimeout(() => { late = true; resolve('unanswered'); }, deadlineMs); });
  try {
    return await Promise.race([answer, deadline]);
  } finally {
    clearTimeout(timer);
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
 * Whether the run's database is gone: this browser profile started the run at epoch `recorded` (identity.ts
 * keeps it beside the run's key, in another database), yet the run database's incarnation counter, which
 * only rises, has come back at or below it (a database evicted or deleted on its own; an origin evicted
 * whole takes the key too, and learners then refuse the new key: docs/security.md "Storage"). Local
 * evidence only: nothing a learner sends, true or forged, can stop a run.
 */
export function lostRunDatabase(recorded: number, incarnation: number): boolean {
  return recorded >= incarnation;
}

/** What the operator reads when lostRunDatabase holds. */
export function lostStateMessage(runId: string, ownEpoch: number, recorded: number): string {
  return `run "${runId}": this browser started the run at epoch ${recorded}, but its database is back at epoch ${ownEpoch} with no committed state: `
    + 'the run\'s database is gone (evicted or deleted). It will not silently restart from θ₀. '
    + 'Load a saved state file, or press "Restart the run from θ₀" to start over on purpose.';
}
