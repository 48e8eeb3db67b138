/**
 * What a LearnerEngine and its interpreter (a tab's session, the simulator) say to each other: its
 * configuration, the events it is fed and the commands it answers with (engine.ts).
 */
import type { Message, MessageOf } from '../protocol';
import type { Reason } from '../result';

export interface EngineConfig {
  runId: string;
  learnerId: string;
  /** Grows on every restart of the tab: (learner, session, seq) names a push. */
  session: number;
  tokensPerStep: number;
  /** The backend the tab trains on at start; a 'backend' event moves it (every later hello names the new one). */
  backend: string;
  /** 'eager' (default): keep the steps taken while a pushed round was in flight; 'overwrite': the paper's α = 0. */
  adoption: 'eager' | 'overwrite';
  /** 'all': refresh every fragment's host copy after each step (the simulator, where a read is free); 'due':
   * only fragments that may be pulled before the next step (the tabs: every readback sits in the worker's
   * queue between two steps, docs/method.md §3). */
  readAhead: 'all' | 'due';
  /** A hello unanswered this long (ms) is said again: one lost with a connection that closed right after
   * opening would leave the tab training on a dead epoch forever. */
  helloDeadlineMs: number;
  /** The classroom demo of a hostile tab (byzantine.ts): every push sign-flipped × this, maximal claims. */
  byzantine?: number;
}

export type EngineEvent =
  | { kind: 'connected'; now: number }
  | { kind: 'message'; msg: Message; now: number }
  | { kind: 'stepped'; now: number; ms: number }
  | { kind: 'read'; tag: number; values: Float32Array; now: number }
  | { kind: 'rebuilt'; now: number }
  | { kind: 'pause'; paused: boolean; now: number }
  | { kind: 'tick'; now: number }
  /** The interpreter moved the model to another backend (a calibration's switch, or a rebuilt worker). */
  | { kind: 'backend'; backend: string; now: number };

export type EngineCommand =
  | { kind: 'train'; lr: number }
  | { kind: 'read'; fragment: number; tag: number }
  | { kind: 'load'; params: Float32Array; kept: readonly number[] }
  | { kind: 'write'; fragment: number; values: Float32Array; rebase?: Float32Array }
  | { kind: 'send'; msg: Message }
  | { kind: 'settled'; push: MessageOf<'push'>; ack: MessageOf<'ack'> }
  | { kind: 'refused'; what: 'snapshot' | 'broadcast'; reason: Reason; detail: string };
