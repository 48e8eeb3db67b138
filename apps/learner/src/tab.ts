/** What a learner tab keeps about itself across reloads (sessionStorage, localStorage), and its data seed. */
import type { PinMemory } from '@tabswarm/net';
import type { ChoiceStore } from './backend-choice';

export function storage(): ChoiceStore | undefined {
  try {
    return localStorage;
  } catch {
    return undefined; // storage disabled: every start probes
  }
}

/** The coordinator key this tab trusted for a run, kept across its reloads (docs/security.md §2). Keyed by run
 * id alone: a run has one key whichever signalling server leads to it, so a join URL with another `signal=`
 * does not get a fresh trust on first use. */
export function pinMemory(runId: string): PinMemory {
  const key = `tabswarm.coordinatorKey.${runId}`;
  let known: string | undefined;
  try {
    known = sessionStorage.getItem(key) ?? undefined;
  } catch {
    known = undefined; // storage disabled: each load trusts on first use, as the page says
  }
  return {
    known,
    remember(fp) {
      try {
        sessionStorage.setItem(key, fp);
      } catch {
        // storage disabled: see above
      }
    },
  };
}

export function nextSession(): number {
  const key = 'tabswarm.session';
  try {
    const n = (Number(sessionStorage.getItem(key)) || 0) + 1;
    sessionStorage.setItem(key, String(n));
    return n;
  } catch {
    return Math.floor(Math.random() * 2 ** 31);
  }
}

export function hashSeed(id: string, session: number): number {
  let h = 2166136261 ^ session;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** Time for a snapshot to answer a hello (ms): a 7 MB snapshot takes ~2 s on a local link; 15 s is ample. */
export const HELLO_DEADLINE_MS = 15_000;

/** The dataset files, served beside the pages. */
export const dataUrl = (): string => new URL('../data/', location.href).href;
