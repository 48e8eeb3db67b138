import {
  decodeSafetensors, encodeSafetensors, FILE_FORMAT, layoutTensors, META, outerFromFile, outerTensors, PROTOCOL_VERSION, thetaFromFile, U32_MAX,
  type DurableState, type Fragment, type ParamLayout, type Reason, type Syncer,
} from '@tabswarm/core';
import type { CoordinatorConfig } from './config';

/**
 * The global model as a .safetensors file (core safetensors.ts; docs/model-file.md): one F32 tensor per
 * layout entry, the outer optimizer's momentum (and an open Delayed Nesterov cycle) as tensors under
 * `tabswarm.outer.` (core outer-file.ts), and in the header the layout hash and what a run needs to resume
 * (run id, workload, model preset, global step, merged tokens, fragment versions, protocol version).
 */
export function modelFile(s: Syncer, cfg: CoordinatorConfig): Blob {
  const outer = outerTensors(s.layout, s.fragments, s.model.outer);
  const metadata: Record<string, string> = {
    format: 'pt', // what PyTorch-side tools (safetensors.torch, transformers) expect to find
    [META.format]: FILE_FORMAT, [META.layoutHash]: s.layout.hash, [META.runId]: cfg.sync.runId, [META.workload]: cfg.workload,
    [META.model]: cfg.model, [META.globalStep]: String(s.globalStep), [META.mergedTokens]: String(s.mergedTokens),
    [META.versions]: JSON.stringify(s.model.versions), [META.protocol]: String(PROTOCOL_VERSION), ...outer.metadata,
  };
  return new Blob([encodeSafetensors([...layoutTensors(s.layout, s.model.theta), ...outer.tensors], metadata)], { type: 'application/octet-stream' });
}

export const modelFileName = (s: Syncer, cfg: CoordinatorConfig): string => `${cfg.sync.runId}-step${s.globalStep}.safetensors`;

/** An Error with a reason code from core's closed set, as the page shows refusals. */
const refused = (reason: Reason, detail: string): Error => Object.assign(new Error(`model file refused (${reason}): ${detail}`), { reason });

/**
 * The durable state a run starts or resumes from, given a model file: its parameters, its global step,
 * merged tokens (the progress clock), its outer momentum (zero when the file has none) and, when the
 * fragment count matches, its fragment versions and open Delayed Nesterov cycles; epoch 0, so any
 * incarnation restores it. Throws with a reason code for a bad file.
 */
export function stateFromModelFile(bytes: Uint8Array, layout: ParamLayout, fragments: readonly Fragment[]): DurableState {
  const P = fragments.length;
  const file = decodeSafetensors(bytes);
  if (!file.ok) throw refused(file.reason, file.detail);
  const theta = thetaFromFile(layout, file.value);
  if (!theta.ok) throw refused(theta.reason, theta.detail);
  const outer = outerFromFile(layout, fragments, file.value);
  if (!outer.ok) throw refused(outer.reason, outer.detail);
  const meta = file.value.metadata;
  // The global step goes out in u32 fields (snapshot, broadcast, status; core protocol/encode.ts), and the
  // writer puts it in decimal digits: Number() alone would read '' as 0, '0x10' as 16 and ' 7' as 7.
  const count = (k: string): number => {
    const s = meta[k];
    if (s === undefined) return 0;
    const v = /^[0-9]+$/.test(s) ? Number(s) : NaN;
    if (!(v <= U32_MAX)) throw refused('bad-field', `metadata ${k} is ${JSON.stringify(s)}, want decimal digits from 0 to ${U32_MAX}`);
    return v;
  };
  const globalStep = count(META.globalStep);
  // Merged tokens are written with String(): digits, a fraction, and past 1e21 an exponent ('1.5e+21').
  const tokensText = meta[META.mergedTokens] ?? '0';
  const mergedTokens = /^[0-9]+(\.[0-9]+)?(e\+[0-9]+)?$/.test(tokensText) ? Number(tokensText) : NaN;
  if (!Number.isFinite(mergedTokens)) throw refused('bad-field', `metadata ${META.mergedTokens} is ${JSON.stringify(tokensText)}, want a finite decimal number >= 0`);
  const saved = parseVersions(meta[META.versions]);
  // Another P plans other fragments: their versions mean nothing here, and every fragment starts at the global step.
  const versions = saved?.length === P && saved.every((v) => v <= globalStep) ? saved : Array.from({ length: P }, () => globalStep);
  return {
    epoch: 0, commitSeq: 0, theta: theta.value, versions, globalStep, mergedTokens, nextFragment: 0, dedupe: [],
    outer: outer.value ?? fragments.map((f) => ({ buf: new Float32Array(f.size), acc: null, count: 0 })), // null: an all-zero accumulator (core outer.ts)
  };
}

function parseVersions(s: string | undefined): number[] | undefined {
  if (s === undefined) return undefined;
  try {
    const v: unknown = JSON.parse(s);
    return Array.isArray(v) && v.every((x) => Number.isSafeInteger(x) && x >= 0) ? (v as number[]) : undefined;
  } catch {
    return undefined;
  }
}
