import { gather, scatter, type Fragment } from '../fragments';
import type { EngineCommand } from './engine';
import { rebased } from './engine';

/**
 * A learner's model as a plain Float32Array: carries out the engine's load, write and read commands for the
 * simulator and the crash world (the tab's worker does the same on TF.js variables). Returns the values a
 * read asked for; train is the caller's own arithmetic.
 */
export function applyToHost(params: Float32Array, fragments: readonly Fragment[], c: Extract<EngineCommand, { kind: 'load' | 'write' | 'read' }>): Float32Array | undefined {
  if (c.kind === 'read') return gather(params, fragments[c.fragment]!);
  if (c.kind === 'write') {
    const f = fragments[c.fragment]!;
    scatter(params, f, c.rebase ? rebased(c.values, gather(params, f), c.rebase) : c.values);
    return undefined;
  }
  if (c.kind === 'load') {
    const kept = new Set(c.kept);
    if (kept.size === 0) params.set(c.params);
    else fragments.forEach((f, p) => { if (!kept.has(p)) scatter(params, f, gather(c.params, f)); });
  }
  return undefined;
}
