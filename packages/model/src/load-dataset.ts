/**
 * Fetches a workload's files (public/data/<workload>/...) and builds the Dataset. The one I/O edge of
 * this package: fetch is injected (tests pass a fake), and the whole download has a deadline, because
 * a stalled request must become an error the learner can show, not a tab that waits forever.
 */
import { fromBytes, type Dataset, type DatasetOptions } from './data';
import { DATA_FILES, type Workload } from './data-format';

export type FetchFn = (url: string, init: { signal: AbortSignal }) => Promise<Response>;

export interface LoadOptions extends DatasetOptions {
  /** Deadline for all files together, ms. 60 s: ≈5 MB on a slow (1 Mbit/s) link plus slack. */
  timeoutMs?: number;
}

export const DEFAULT_LOAD_TIMEOUT_MS = 60_000;

/**
 * loadDataset('text', './data') fetches ./data/text/{train.bin,val.bin,vocab.json} in parallel.
 * Rejects with an Error naming the URL on an HTTP error, a network error or the deadline.
 */
export async function loadDataset(
  workload: Workload,
  baseUrl: string,
  fetchFn: FetchFn = (url, init) => fetch(url, init),
  opts: LoadOptions = {},
): Promise<Dataset> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_LOAD_TIMEOUT_MS;
  const base = `${baseUrl.replace(/\/+$/, '')}/${workload}/`;
  const abort = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      abort.abort();
      reject(new Error(`loadDataset: ${base}{${DATA_FILES[workload].join(',')}} did not arrive within ${timeoutMs} ms`));
    }, timeoutMs);
  });
  const fetchOne = async (name: string): Promise<[string, Uint8Array]> => {
    const url = base + name;
    let res: Response;
    try {
      res = await fetchFn(url, { signal: abort.signal });
    } catch (e) {
      throw new Error(`loadDataset: fetching ${url} failed: ${(e as Error).message}`);
    }
    if (!res.ok) throw new Error(`loadDataset: ${url} answered HTTP ${res.status} (is public/data built? npm run data)`);
    return [name, new Uint8Array(await res.arrayBuffer())];
  };
  try {
    const entries = await Promise.race([Promise.all(DATA_FILES[workload].map(fetchOne)), deadline]);
    return fromBytes(workload, Object.fromEntries(entries), opts);
  } finally {
    clearTimeout(timer);
    abort.abort(); // cancels the other downloads when one failed
  }
}
