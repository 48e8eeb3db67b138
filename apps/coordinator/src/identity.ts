import { coordinatorSigner, generateCoordinatorKey, type CoordinatorSigner } from '@tabswarm/net';

/**
 * The run's signing key in IndexedDB (docs/security.md §2): database 'tabswarm-identity', one key pair per
 * run id, apart from the run's own database so that loading a state file or a lost run database never
 * changes the key learners have pinned. The private key is a non-extractable CryptoKey: the page can sign
 * with it, and nothing, this page included, can read it out.
 */
const DB = 'tabswarm-identity';
const STORE = 'keys';
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
    const timer = setTimeout(() => reject(new Error(`store the run key: no commit within ${DEADLINE_MS} ms`)), DEADLINE_MS);
    tx.oncomplete = () => { clearTimeout(timer); resolve(); };
    tx.onerror = tx.onabort = () => { clearTimeout(timer); reject(tx.error ?? new Error('store the run key: aborted')); };
  });
}

/** The run's signer: its stored key pair, or a new one stored first (the caller holds the run's Web Lock). */
export async function runSigner(runId: string): Promise<CoordinatorSigner> {
  const open = indexedDB.open(DB, 1);
  open.onupgradeneeded = () => open.result.createObjectStore(STORE);
  const db = await settle(open, 'open the key database');
  try {
    const got = await settle<CryptoKeyPair | undefined>(db.transaction(STORE).objectStore(STORE).get(runId), 'read the run key');
    if (got) return await coordinatorSigner(got);
    const pair = await generateCoordinatorKey();
    const tx = db.transaction(STORE, 'readwrite', { durability: 'strict' });
    tx.objectStore(STORE).add(pair, runId);
    await committed(tx); // on disk before anyone is told the fingerprint
    return await coordinatorSigner(pair);
  } finally {
    db.close();
  }
}
