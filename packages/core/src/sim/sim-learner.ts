import { gather, scatter } from '../fragments';
import { LearnerState } from '../learner/state';
import type { ParamLayout } from '../layout';
import type { Message } from '../protocol';
import type { Rng } from '../rng';
import { localWarmup } from '../schedule';
import { AdamW, type AdamWConfig } from './adamw';
import type { Mlp } from './mlp';
import type { Task } from './task';

type Msg<T extends Message['type']> = Extract<Message, { type: T }>;

export interface LearnerSetup {
  id: string;
  rng: Rng;
  stepMs: number;
  batch: number;
  shard?: { index: number; of: number; skew: number };
}

/**
 * One simulated tab: a real inner loop (AdamW on the MLP) wrapped around the real LearnerState. It
 * applies broadcasts at its next step boundary, before answering pulls (algorithm.md §2.3).
 */
export class SimLearner {
  params: Float32Array = new Float32Array(0);
  /** A fresh one per session, as a new tab has: its step counter t starts again at 0. */
  state: LearnerState;
  adam: AdamW;
  session = 0;
  alive = true;
  /** Connection generation: messages addressed to an older one are lost with it. */
  conn = 0;
  tokens = 0;
  private inbox: Array<Msg<'broadcast'>> = [];
  private pulls: Array<Msg<'pull'>> = [];
  private readonly grad: Float32Array;

  constructor(readonly s: LearnerSetup, private readonly layout: ParamLayout, private readonly model: Mlp, private readonly task: Task, private readonly adamCfg: AdamWConfig, private readonly alpha = 0) {
    this.state = new LearnerState(layout, alpha);
    this.adam = new AdamW(model.size, adamCfg);
    this.grad = new Float32Array(model.size);
  }

  hello(runId: string, layoutHash: string, uplinkCodec: number): Msg<'hello'> {
    return { type: 'hello', runId, learnerId: this.s.id, session: this.session, layoutHash, tokensPerStep: this.s.batch, backend: 'sim', uplinkCodec };
  }

  /** A killed tab comes back as a new session with fresh inner-optimizer moments (algorithm.md §2.9). */
  restart(): void {
    this.session++;
    this.alive = true;
    this.adam = new AdamW(this.model.size, this.adamCfg);
    this.state = new LearnerState(this.layout, this.alpha);
    this.inbox = [];
    this.pulls = [];
  }

  receive(m: Message): void {
    if (m.type === 'snapshot') {
      const r = this.state.applySnapshot(m, this.state.joined ? this.params : undefined);
      // Broadcasts already in the inbox stay: one that overtook this snapshot on the wire is newer than it,
      // and applyBroadcast's version check drops the rest.
      if (r.ok) this.params = r.value;
    } else if (m.type === 'broadcast') this.inbox.push(m);
    else if (m.type === 'pull') this.pulls.push(m);
  }

  /** Apply pending broadcasts; then, if `train`, one inner step; then answer pulls. Returns what to send. */
  step(lr: number, train: boolean): Message[] {
    if (!this.state.joined) return [];
    for (const b of this.inbox.splice(0)) {
      const f = this.state.fragments[b.fragment];
      if (!f) continue;
      const r = this.state.applyBroadcast(b, gather(this.params, f));
      if (r.ok) scatter(this.params, f, r.value);
    }
    const out: Message[] = [];
    if (train) {
      const batch = this.task.sample(this.s.rng, this.s.batch, this.s.shard);
      this.model.loss(this.params, batch, this.grad);
      this.adam.step(this.params, this.grad, lr * localWarmup(this.state.t));
      this.state.recordStep(batch.n);
      this.tokens += batch.n;
      out.push(this.state.meta(this.s.stepMs));
    }
    for (const pull of this.pulls.splice(0)) {
      const f = this.state.fragments[pull.fragment];
      const push = f && this.state.makePush(pull, gather(this.params, f));
      if (push) out.push(push);
    }
    return out;
  }
}
