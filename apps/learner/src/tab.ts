/** What a learner tab keeps about itself across reloads (sessionStorage, localStorage), and its data seed. */
import type { ChoiceStore } from './backend-choice';

export function storage(): ChoiceStore | undefined {
  try {
    return localStorage;
  } catch {
    return undefined; // storage disabled: every start probes
  }
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
