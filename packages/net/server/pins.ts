/**
 * The reserved-id pins on disk, so a restarted signalling server still knows which token owns which
 * coordinator id (otherwise a restart is a window for anyone to take the id). One JSON file, written
 * whole to a temporary name and renamed over the old one (a crash mid-write leaves the old file), at
 * most once per `everyMs`. Pins hold token hashes, never tokens (admission.ts).
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Pin } from './admission';

/** The pins in `file`, or none when it does not exist yet. A file that is not ours is an error, never ignored. */
export function loadPins(file: string): Array<[string, Pin]> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const data = JSON.parse(text) as unknown;
  if (!Array.isArray(data)) throw new Error(`${file} is not a tabswarm pin file (expected a JSON array)`);
  return data.filter((e): e is [string, Pin] => Array.isArray(e) && typeof e[0] === 'string' && isPin(e[1]));
}

function isPin(p: unknown): p is Pin {
  if (typeof p !== 'object' || p === null) return false;
  const o = p as Record<string, unknown>;
  return typeof o.tokenHash === 'string' && /^[0-9a-f]{64}$/.test(o.tokenHash) && typeof o.lastSeen === 'number' && Number.isFinite(o.lastSeen) && typeof o.address === 'string';
}

/** Writes `snapshot()` to `file` at most once per `everyMs` after `changed()`; `flush()` writes now. */
export class PinWriter {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;

  /** `onError`: a failed background write is reported, never thrown (it would take the server down). */
  constructor(private readonly file: string, private readonly snapshot: () => Array<[string, Pin]>, private readonly onError: (e: unknown) => void, private readonly everyMs = 1000) {
    mkdirSync(dirname(file), { recursive: true });
  }

  changed(): void {
    if (this.timer || this.stopped) return;
    this.timer = setTimeout(() => {
      try {
        this.flush();
      } catch (e) {
        this.onError(e);
      }
    }, this.everyMs);
    this.timer.unref();
  }

  /** Writes now, and nothing after: the disconnects a closing server reports are not worth a write. */
  stop(): void {
    this.flush();
    this.stopped = true;
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.snapshot()), { mode: 0o600 });
    renameSync(tmp, this.file);
  }
}
