import type { DurableState, Syncer } from '@tabswarm/core';
import type { DurableStore } from './store';

/**
 * The coordinator's state as one binary file: "TSST", a u32 header length, a JSON header (counters,
 * versions, dedupe table, layout hash), then the fp32 parameters and each fragment's Nesterov buffer
 * (and Delayed-Nesterov accumulator once any fragment has one), in fragment order.
 */
const MAGIC = 0x54535354; // 'TSST'

interface Header {
  format: 'tabswarm-state/2'; layoutHash: string; runId: string; P: number;
  counters: Omit<DurableState, 'theta' | 'outer'>; counts: number[]; hasAcc: boolean; sizes: number[];
}

export function saveState(s: Syncer): Blob {
  const { theta, outer, ...counters } = s.durable();
  const hasAcc = outer.some((o) => o.acc !== null);
  // With 'auto' a fragment gets its accumulator at its first Delayed Nesterov merge; one without is all zeros.
  const arrays = [theta, ...outer.map((o) => o.buf), ...(hasAcc ? outer.map((o) => o.acc ?? new Float32Array(o.buf.length)) : [])];
  const header: Header = { format: 'tabswarm-state/2', layoutHash: s.layout.hash, runId: s.cfg.runId, P: s.cfg.P, counters, counts: outer.map((o) => o.count), hasAcc, sizes: arrays.map((a) => a.length) };
  const json = new TextEncoder().encode(JSON.stringify(header));
  const pad = (4 - ((8 + json.length) % 4)) % 4; // keep the float arrays 4-byte aligned
  const head = new Uint8Array(8 + json.length + pad);
  const dv = new DataView(head.buffer);
  dv.setUint32(0, MAGIC, true);
  dv.setUint32(4, json.length + pad, true);
  head.set(json, 8);
  head.fill(0x20, 8 + json.length); // pad with spaces: still valid JSON
  return new Blob([head, ...arrays.map((a) => a as Float32Array<ArrayBuffer>)], { type: 'application/octet-stream' });
}

/**
 * Load a saved state into a running coordinator built for the same model; throws with a reason otherwise.
 * The loaded state becomes the run's new durable base (θ₀ of the merge log from here on).
 */
export async function loadState(s: Syncer, store: DurableStore, file: Blob): Promise<void> {
  const buf = await file.arrayBuffer();
  if (buf.byteLength < 8) throw new Error('not a tabswarm state file (too short)');
  const dv = new DataView(buf);
  if (dv.getUint32(0, true) !== MAGIC) throw new Error('not a tabswarm state file (bad magic)');
  const len = dv.getUint32(4, true);
  if (8 + len > buf.byteLength) throw new Error('truncated state file');
  const h = JSON.parse(new TextDecoder().decode(new Uint8Array(buf, 8, len))) as Header;
  if (h.format !== 'tabswarm-state/2') throw new Error(`unknown state format ${String(h.format)}`);
  if (h.layoutHash !== s.layout.hash) throw new Error(`state is for model ${h.layoutHash}, this run has ${s.layout.hash}`);
  if (h.P !== s.cfg.P) throw new Error(`state has P=${h.P}, this run has P=${s.cfg.P}`);
  const total = h.sizes.reduce((a, b) => a + b, 0);
  if (8 + len + 4 * total !== buf.byteLength) throw new Error('state file length does not match its header');
  let off = 8 + len;
  const arrays = h.sizes.map((n) => { const a = new Float32Array(buf.slice(off, off + 4 * n)); off += 4 * n; return a; });
  if (!arrays.every((a) => a.every(Number.isFinite))) throw new Error('state file holds non-finite values');
  const P = h.P;
  const outer = Array.from({ length: P }, (_, p) => ({ buf: arrays[1 + p]!, acc: h.hasAcc ? arrays[1 + P + p]! : null, count: h.counts[p] ?? 0 }));
  // epoch 0: a file always restores into the running incarnation, whose epoch is ≥ 1.
  s.restore({ ...h.counters, epoch: 0, theta: arrays[0]!, outer });
  await store.rebase(s.durable());
}
