/**
 * The page's link clock, with its timers in a dedicated worker. Chrome throttles a hidden page's
 * main-thread timers (woken at most once a second, and chained ones once a minute after five minutes
 * hidden), but not a dedicated worker's; the worker's message then runs on the page at once. So the
 * heartbeat, reconnect and deadline timers of a link fire on time in a background tab (docs/browser.md §5).
 * Where no worker can be made (Node, a CSP without blob: workers) or it fails, timers fall back to the
 * page's own, which fire late but still fire.
 */
import { systemClock, type Clock, type TimerHandle } from './clock';

/** The worker: arm [0, id, ms], cancel [1, id]; posts the id back when a timer fires. */
const SOURCE = 'const t=new Map();onmessage=(e)=>{const[op,id,ms]=e.data;if(op===0)t.set(id,setTimeout(()=>{t.delete(id);postMessage(id)},ms));else{clearTimeout(t.get(id));t.delete(id)}};';

/** What the clock needs of its timer worker; workerClock wraps a real Worker, tests a fake. */
export interface TimerPort {
  arm(id: number, ms: number): void;
  cancel(id: number): void;
  /** Calls `fired` with each id the worker posts back, `failed` once if the worker cannot run. */
  listen(fired: (id: number) => void, failed: () => void): void;
  terminate(): void;
}

interface Pending { fn: () => void; due: number }

/**
 * The clock's rules over a timer port and the page's own clock: timers are armed in the worker while it
 * runs; a timer cancelled after the worker had already posted it does not run; when the worker fails its
 * pending timers move to the page's clock with the time they had left, and later ones go there directly.
 * Without a port everything is the page's. `now` is the page clock's.
 */
export function portClock(port: TimerPort | undefined, page: Clock): Clock {
  let worker = port;
  const pending = new Map<number, Pending>();
  const local = new Map<number, TimerHandle>();
  let next = 1;
  const fire = (id: number): void => {
    const p = pending.get(id);
    if (!p) return; // cancelled after the worker had already posted it
    pending.delete(id);
    local.delete(id);
    p.fn();
  };
  const onPage = (id: number, p: Pending): void => { local.set(id, page.setTimeout(() => fire(id), Math.max(0, p.due - page.now()))); };
  worker?.listen(fire, () => {
    // The worker cannot run (it failed to load or threw): its timers move to the page's own.
    worker?.terminate();
    worker = undefined;
    for (const [id, p] of pending) if (!local.has(id)) onPage(id, p);
  });
  return {
    now: () => page.now(),
    setTimeout: (fn, ms) => {
      const id = next++;
      const p = { fn, due: page.now() + ms };
      pending.set(id, p);
      if (worker) worker.arm(id, ms);
      else onPage(id, p);
      return id;
    },
    clearTimeout: (handle) => {
      const id = handle as number;
      if (!pending.delete(id)) return;
      const h = local.get(id);
      if (h !== undefined) { page.clearTimeout(h); local.delete(id); }
      worker?.cancel(id);
    },
  };
}

/** The page's clock with its timers in a dedicated worker made from SOURCE; the page's own where none can be made. */
export function workerClock(): Clock {
  if (typeof Worker === 'undefined' || typeof Blob === 'undefined' || typeof URL.createObjectURL !== 'function') return systemClock;
  let worker: Worker;
  try {
    worker = new Worker(URL.createObjectURL(new Blob([SOURCE], { type: 'text/javascript' })));
  } catch {
    return systemClock;
  }
  return portClock({
    arm: (id, ms) => worker.postMessage([0, id, ms]),
    cancel: (id) => worker.postMessage([1, id]),
    listen: (fired, failed) => {
      worker.onmessage = (e: MessageEvent<number>) => fired(e.data);
      worker.onerror = failed;
    },
    terminate: () => worker.terminate(),
  }, systemClock);
}

let shared: Clock | undefined;

/** One worker clock per page, made on first use: the default clock of every link. */
export function pageClock(): Clock {
  return (shared ??= workerClock());
}
