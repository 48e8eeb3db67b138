import { coordinatorSigner, generateCoordinatorKey, type CoordinatorSigner } from '@tabswarm/net';

/**
 * The run's signing key in IndexedDB (docs/security.md §2): database 'tabswarm-identity', one key pair per
 * run id, apart from the run's own database so that loading a state file or a lost run database never
 * changes the key learners have pinned. The private key is a non-extractable CryptoKey: the page can sign
 * with it, and nothing, this page included, can read it out.
 */
const DB = 'tabswarm-identity';
const STORE = 'keys';
/** Per run id, the highest epoch a coordinator of this run started at in this profile (storage.ts lostRunDatabase). */
const EPOCHS = 'epochs';
/** Opening, reading or writing the key database takes milliseconds; 10 s means it is stuck. */
const DEADLINE_MS = 10_000;

function settle<T>(req: IDBRequest<T> | IDBOpenDBRequest, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: no answer within ${DEADLINE_MS} ms`)), DEADLINE_MS);
    req.onsuccess = () => { clearTimeout(timer); resolve(req.result as T); };
    req.onerror = () => { clearTimeout(timer); reject(req.error ?? new Error(`${what} failed`)); };
  });
}

function committed(tx: IDBTransaction): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`key database: no commit within ${DEADLINE_MS} ms`)), DEADLINE_MS);
    tx.oncomplete = () => { clearTimeout(timer); resolve(); };
    tx.onerror = tx.onabort = () => { clearTimeout(timer); reject(tx.error ?? new Error('key database: write aborted')); };
  });
}

async function withDb<T>(use: (db: IDBDatabase) => Promise<T>): Promise<T> {
  const open = indexedDB.open(DB, 2);
  open.onupgradeneeded = () => {
    for (const s of [STORE, EPOCHS]) if (!open.result.objectStoreNames.contains(s)) open.result.createObjectStore(s);
  };
  const db = await settle(open, 'open the key database');
  try {
    return await use(db);
  } finally {
    db.close();
  }
}

/**
 * The run's signer: its stored key pair, or a new one stored first (the caller holds the run's Web Lock);
 * `made` says it is new, so learners that pinned an earlier key of this run refuse it.
 */
export function runSigner(runId: string): Promise<{ signer: CoordinatorSigner; made: boolean }> {
  return withDb(async (db) => {
    const got = await settle<CryptoKeyPair | undefined>(db.transaction(STORE).objectStore(STORE).get(runId), 'read the run key');
    if (got) return { signer: await coordinatorSigner(got), made: false };
    const pair = await generateCoordinatorKey();
    const tx = db.transaction(STORE, 'readwrite', { durability: 'strict' });
    tx.objectStore(STORE).add(pair, runId);
    await committed(tx); // on disk before anyone is told the fingerprint
    return { signer: await coordinatorSigner(pair), made: true };
  });
}

/** The highest epoch recorded for this run in this profile (0: none). */
export function recordedEpoch(runId: string): Promise<number> {
  return withDb(async (db) => (await settle<number | undefined>(db.transaction(EPOCHS).objectStore(EPOCHS).get(runId), 'read the run epoch')) ?? 0);
}

/** Record that this run started at `epoch` (epochs only rise, so the caller's is the highest). */
export function recordEpoch(runId: string, epoch: number): Promise<void> {
  return withDb(async (db) => {
    const tx = db.transaction(EPOCHS, 'readwrite', { durability: 'strict' });
    tx.objectStore(EPOCHS).put(epoch, runId);
    await committed(tx);
  });
}
