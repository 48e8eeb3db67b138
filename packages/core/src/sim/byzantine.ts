import { getCodec } from '../codecs';
import type { Message } from '../protocol';
import type { SyncConfig } from '../syncer/config';

/**
 * A Byzantine minority for the simulator (docs/fault-tolerance.md §3): these learners run the real engine
 * and train honestly, but every push they send carries −scale × their real delta (sign-flipped: it
 * pulls the model back up its own gradient) and claims the most the syncer lets anyone claim, 2H steps
 * (the weight's steps cap) at the run's tokens per step. `scale` below the norm cap's factor keeps the
 * pushes under the cap, so only the merge weights and the merge rule stand between them and the model.
 */
export interface Byzantine {
  ids: ReadonlySet<string>;
  scale: number;
}

export function byzantineTamper(b: Byzantine, cfg: Pick<SyncConfig, 'H' | 'stepsCapFactor' | 'tokensPerStep' | 'blockSize'>) {
  return (from: string, m: Message, fragmentSize: number): Message => {
    if (m.type !== 'push' || !b.ids.has(from)) return m;
    const codec = getCodec(m.codec);
    if (!codec.ok) return m;
    const delta = codec.value.decode(m.payload, fragmentSize);
    if (!delta.ok) return m;
    const flipped = delta.value.map((x) => -b.scale * x);
    const cSteps = Math.max(m.cSteps, cfg.stepsCapFactor * cfg.H);
    return { ...m, payload: codec.value.encode(flipped, cfg.blockSize), cSteps, cTokens: cSteps * cfg.tokensPerStep };
  };
}
