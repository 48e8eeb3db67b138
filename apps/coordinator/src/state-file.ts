import { REASONS, U32_MAX, type DurableState, type Fragment, type ParamLayout, type Reason, type Syncer } from '@tabswarm/core';

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

/** An Error with a reason code from core's closed set, as the page shows refusals. */
const refused = (reason: Reason, detail: string): Error => Object.assign(new Error(`state file refused (${reason}): ${detail}`), { reason });

const count = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
/** A counter the protocol carries in u32 fields (global step, rounds, seq, session; core protocol/encode.ts):
 * one above U32_MAX never came from the wire and cannot go back out on it. */
const u32 = (v: unknown): v is number => count(v) && v <= U32_MAX;

/**
 * The durable state a saved state file holds, checked against this run's model and fragment plan before
 * anything changes: epoch 0, so the next incarnation restores it (driver.ts loadState). Throws with a
 * reason code for a file that is not one, is cut short, holds non-finite values, was saved for another
 * model or fragment plan, or whose counters, versions, dedupe rows or norm windows are out of range.
 */
export function stateFromStateFile(bytes: Uint8Array, layout: ParamLayout, fragments: readonly Fragment[]): DurableState {
  const P = fragments.length;
  if (bytes.byteLength < 8) throw refused('truncated', `${bytes.byteLength} bytes, shorter than the 8-byte preamble`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dv.getUint32(0, true) !== MAGIC) throw refused('bad-magic', 'not a tabswarm state file');
  const len = dv.getUint32(4, true);
  if (8 + len > bytes.byteLength) throw refused('truncated', `the header promises ${len} bytes, the file has ${bytes.byteLength - 8} after the preamble`);
  let h: Header;
  try {
    h = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + len))) as Header;
  } catch (e) {
    throw refused('bad-field', `the header is not UTF-8 JSON: ${String(e)}`);
  }
  if (typeof h !== 'object' || h === null || h.format !== 'tabswarm-state/2') throw refused('bad-version', `unknown state format ${JSON.stringify((h as { format?: unknown } | null)?.format)}`);
  if (h.layoutHash !== layout.hash) throw refused('layout-mismatch', `state is for model ${String(h.layoutHash)}, this run has ${layout.hash}`);
  if (h.P !== P) throw refused('layout-mismatch', `state has P=${String(h.P)}, this run has P=${P}`);
  const want = [layout.totalSize, ...fragments.map((f) => f.size), ...(h.hasAcc === true ? fragments.map((f) => f.size) : [])];
  if (!Array.isArray(h.sizes) || h.sizes.length !== want.length || h.sizes.some((n, i) => n !== want[i])) throw refused('length-mismatch', `arrays of ${JSON.stringify(h.sizes)} values, this run's model and fragments need ${JSON.stringify(want)}`);
  if (8 + len + 4 * want.reduce((a, b) => a + b, 0) !== bytes.byteLength) throw refused('length-mismatch', 'the file\'s length does not match its header');
  const c = h.counters as Partial<Header['counters']> | undefined;
  if (!c || ![c.commitSeq, c.globalStep, c.nextFragment].every(count) || !(Number.isFinite(c.mergedTokens) && c.mergedTokens! >= 0)) throw refused('bad-field', 'counters: want integers >= 0 and finite merged tokens >= 0');
  if (c.globalStep! > U32_MAX) throw refused('bad-field', `counters: global step ${c.globalStep} is above ${U32_MAX}, the largest a u32 field carries`);
  if (c.nextFragment! >= P) throw refused('bad-field', `next fragment ${c.nextFragment} is outside [0, ${P})`);
  if (!Array.isArray(c.versions) || c.versions.length !== P || !c.versions.every((v) => count(v) && v <= c.globalStep!)) throw refused('bad-field', `versions: want ${P} integers from 0 to the global step ${c.globalStep}`);
  if (!Array.isArray(h.counts) || h.counts.length !== P || !h.counts.every((n) => count(n) && (n === 0 || h.hasAcc === true))) throw refused('bad-field', 'Delayed Nesterov counts: want one integer >= 0 per fragment, 0 without accumulators');
  const dedupe = c.dedupe;
  if (!Array.isArray(dedupe) || !dedupe.every((r) => typeof r?.id === 'string' && [r.session, r.seq, r.round].every(u32) && count(r.fragment) && r.fragment < P && (r.reason === null || REASONS.includes(r.reason)))) throw refused('bad-field', `dedupe rows: want id, session, seq and round from 0 to ${U32_MAX}, fragment in range and a reason code or null`);
  const norms = c.norms;
  if (norms !== undefined && !(Array.isArray(norms) && norms.length === P && norms.every((w) => Array.isArray(w) && w.every((x) => typeof x === 'number')))) throw refused('bad-field', `norm windows: want ${P} lists of numbers`);
  let off = bytes.byteOffset + 8 + len;
  // A copy: the arrays must be 4-byte aligned and must not share the file's buffer.
  const arrays = want.map((n) => { const a = new Float32Array(bytes.buffer.slice(off, off + 4 * n)); off += 4 * n; return a; });
  if (!arrays.every((a) => a.every(Number.isFinite))) throw refused('non-finite', 'the state holds NaN or ±Infinity');
  const outer = fragments.map((_, p) => ({ buf: arrays[1 + p]!, acc: h.hasAcc === true ? arrays[1 + P + p]! : null, count: h.counts[p]! }));
  return {
    epoch: 0, commitSeq: c.commitSeq!, theta: arrays[0]!, outer, versions: [...c.versions], globalStep: c.globalStep!, mergedTokens: c.mergedTokens!,
    nextFragment: c.nextFragment!, dedupe: dedupe.map((r) => ({ id: r.id, session: r.session, seq: r.seq, round: r.round, fragment: r.fragment, reason: r.reason })),
    ...(norms ? { norms: norms.map((w) => [...w]) } : {}),
  };
}
