import { describePreset } from '@tabswarm/worker';
import type { BackendSource } from './backend-choice';
import type { LearnerConfig } from './config';

/** What the page shows, and what Playwright polls (window.__tabswarm). */
export interface LearnerStatus {
  state: 'idle' | 'probing' | 'loading' | 'connecting' | 'training' | 'recovering' | 'paused' | 'failed';
  learnerId: string;
  backend: string;
  why: string;
  /** Where the backend came from (backend-choice.ts); '' before the probe. */
  backendSource: BackendSource | '';
  /** The background calibration: '' (none yet), 'running', or its outcome in words. */
  calibration: string;
  /** The model preset and its size, e.g. "tiny: 1 block, d 32, context 32; 18,862 parameters". */
  model: string;
  /** What the link to the coordinator is doing, e.g. "reconnecting: attempt 3". */
  link: string;
  /** Milliseconds from start() (the click) to the first merged update; null until then. */
  firstMergeMs: number | null;
  /** Wall clock (Date.now(), ms since 1970) of the first merged update, so a harness opening many tabs can
   *  time each from its own open without polling; null until then. */
  firstMergeAt: number | null;
  steps: number;
  /** AdamW's step count in the worker after its last step: equal to `steps` while nothing reset the
   * optimizer (a worker rebuild does), also across a backend switch, which carries it over. */
  optimizerSteps: number;
  stepsPerSec: number;
  tokens: number;
  merges: number;
  rejected: number;
  /** Push frames sent, resends included (after a reconnect, or when pulled again for a round: core syncer/repull.ts). */
  pushes: number;
  /** The seq of the last push this session made: pushes made, each counted once. */
  lastSeq: number;
  /** Pushes sent and not yet acked (kept for a resend after a reconnect). */
  unacked: number;
  /** learner/session/seq of every push acked as merged (the last 10,000): tests check none is lost. */
  mergedKeys: string[];
  loss: number | undefined;
  globalLoss: number | undefined;
  /** This tab's part of the merged tokens of all learners (yourTokens / learnerTokens from the last status), null before one. */
  share: number | null;
  yourTokens: number;
  learnerTokens: number;
  globalStep: number;
  /** Worker rebuilds after a crash, hang or device loss, the last fault, and how long the last rebuild took (ms). */
  recoveries: number;
  lastFault: string;
  recoveryMs: number;
  /** Times the link to the coordinator opened (1 while it never dropped). */
  linkOpens: number;
  /** Coordinator incarnation this tab's weights come from. */
  epoch: number;
  versions: number[];
  /** Each step is made to take this many times its compute time (the `slowdown` URL parameter; 1 = none). */
  slowdown: number;
  /** The `byzantine` URL parameter (the classroom demo of a hostile tab), null for an honest tab. */
  byzantine: number | null;
  /** The coordinator key this tab trusts (fingerprint), and what pinned it: the join URL, an earlier load of this
   * tab, or the first frame (net identity.ts pinCoordinator). */
  coordinator: string;
  pinnedBy: 'join URL' | 'earlier load' | 'first use';
  /** Frames refused because the pinned coordinator key did not sign them, by reason (wrong-key, bad-signature, unsigned). */
  identityRefusals: Record<string, number>;
  error: string;
}

/** A tab before its start: nothing probed, trained or merged yet. */
export function initialStatus(cfg: LearnerConfig): LearnerStatus {
  return {
    state: 'idle', learnerId: cfg.learnerId, backend: '–', why: '', backendSource: '', calibration: '', model: describePreset(cfg.workload, cfg.model), link: '', firstMergeMs: null, firstMergeAt: null, steps: 0, optimizerSteps: 0, stepsPerSec: 0, tokens: 0, merges: 0, rejected: 0, pushes: 0, lastSeq: 0, unacked: 0, mergedKeys: [],
    loss: undefined, globalLoss: undefined, share: null, yourTokens: 0, learnerTokens: 0, globalStep: 0, recoveries: 0, lastFault: '', recoveryMs: 0, linkOpens: 0, epoch: 0, versions: [], slowdown: cfg.slowdown, byzantine: cfg.byzantine ?? null,
    coordinator: cfg.coordinator ?? '', pinnedBy: cfg.coordinator === undefined ? 'first use' : 'join URL', identityRefusals: {}, error: '',
  };
}
