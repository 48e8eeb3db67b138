import { ConfigError } from '../result';
import { DEFAULT_SYNC } from '../syncer/config';

/**
 * The classroom demo of a hostile tab (learner URL parameter `byzantine=S`, docs/fault-tolerance.md §3):
 * the tab trains honestly, but each push carries −S × its real delta (sign-flipped: it pulls the model
 * back up its own gradient) and claims the most a push may weigh: stepsCapFactor·H steps (the token
 * weight's steps cap, at its default of 2) at the run's tokens per step, when it trained fewer. What
 * stands between it and the model is the coordinator's guards and merge rule. The simulator's Byzantine
 * minority (sim/byzantine.ts) makes the same attack on the wire, after encoding.
 *
 * Applied in LearnerState.makePush, just before encoding: flips `delta` in place and returns the claim.
 */
export function byzantinePush(scale: number, delta: Float32Array, real: { cSteps: number; cTokens: number }, H: number, tokensPerStep: number): { cSteps: number; cTokens: number } {
  for (let i = 0; i < delta.length; i++) delta[i] = -scale * delta[i]!;
  const cSteps = Math.max(real.cSteps, DEFAULT_SYNC.stepsCapFactor * H);
  return { cSteps, cTokens: cSteps * tokensPerStep };
}

/** `byzantine=S` from a URL: absent → undefined (an honest tab); else a finite S > 0, or a ConfigError. */
export function parseByzantine(v: string | null): number | undefined {
  if (v === null) return undefined;
  const s = Number(v);
  if (!(v.trim() !== '' && Number.isFinite(s) && s > 0)) throw new ConfigError(`byzantine=${JSON.stringify(v)}: want a number > 0 (the factor of the sign-flipped pushes)`);
  return s;
}
