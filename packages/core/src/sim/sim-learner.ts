import { gather } from '../fragments';
import type { ParamLayout } from '../layout';
import type { Message } from '../protocol';
import type { Rng } from '../rng';
import { LearnerEngine, type EngineCommand, type EngineEvent } from '../learner/engine';
import { applyToHost } from '../learner/host-model';
import type { LearnerState } from '../learner/state';
import { AdamW, type AdamWConfig } from './adamw';
import type { Mlp } from './mlp';
import type { Task } from './task';

export interface LearnerSetup {
  id: string;
  runId: string;
  rng: Rng;
  stepMs: number;
  batch: number;
  shard?: { index: number; of: number; skew: number };
}

/** What the simulator does with a learner's commands: messages to send, and steps that take time. */
export interface SimEffects {
  send(m: Message): void;
  /** A step was started (its arithmetic is done); the simulator completes it later with a 'stepped' event. */
  stepStarted(): void;
}

/**
 * One simulated tab: a real inner loop (AdamW on the MLP) under the real LearnerEngine, the same engine a
 * browser tab runs. The simulator interprets the engine's commands on a Float32Array: a train command does
 * its arithmetic when issued (engine.ts's ordering rule) and completes a step time later; a readback asked
 * for during a step is answered when the step ends, and host copies are refreshed only when due, as in a tab.
 */
export class SimLearner {
  params: Float32Array = new Float32Array(0);
  engine: LearnerEngine;
  adam: AdamW;
  session = 0;
  alive = true;
  /** Connection generation: messages addressed to an older one are lost with it. */
  conn = 0;
  tokens = 0;
  private readonly grad: Float32Array;
  private events: EngineEvent[] = [];
  /** A step is in flight: a readback asked for now is answered when it ends, as the tab's worker does. */
  private stepping = false;
  private deferred: Array<{ fragment: number; tag: number }> = [];

  constructor(readonly s: LearnerSetup, private readonly layout: ParamLayout, private readonly model: Mlp, private readonly task: Task,
    private readonly adamCfg: AdamWConfig, private readonly adoption: 'eager' | 'overwrite' = 'eager') {
    this.engine = this.newEngine();
    this.adam = new AdamW(model.size, adamCfg);
    this.grad = new Float32Array(model.size);
  }

  /** The protocol state the engine keeps (counters, anchors, versions). */
  get state(): LearnerState {
    return this.engine.state;
  }

  private newEngine(): LearnerEngine {
    return new LearnerEngine({ runId: this.s.runId, learnerId: this.s.id, session: this.session, tokensPerStep: this.s.batch, backend: 'sim', adoption: this.adoption, readAhead: 'due', helloDeadlineMs: 1e9 }, this.layout);
  }

  /** A killed tab comes back as a new session with fresh inner-optimizer moments (docs/method.md §3). */
  restart(): void {
    this.session++;
    this.alive = true;
    this.adam = new AdamW(this.model.size, this.adamCfg);
    this.engine = this.newEngine();
    this.events = [];
    this.stepping = false;
    this.deferred = [];
  }

  /** Feed one event, carry out its commands, then the events they caused (read results), in order. */
  handle(ev: EngineEvent, fx: SimEffects): void {
    this.events.push(ev);
    if (ev.kind === 'stepped') {
      // Reads queued behind the step see the model as that step left it, before the next step begins.
      this.stepping = false;
      for (const d of this.deferred.splice(0)) this.events.push({ kind: 'read', tag: d.tag, values: gather(this.params, this.engine.fragments[d.fragment]!), now: ev.now });
    }
    while (this.events.length) for (const c of this.engine.handle(this.events.shift()!)) this.run(c, fx);
  }

  private run(c: EngineCommand, fx: SimEffects): void {
    if (c.kind === 'send') fx.send(c.msg);
    else if (c.kind === 'train') {
      const batch = this.task.sample(this.s.rng, this.s.batch, this.s.shard);
      this.model.loss(this.params, batch, this.grad);
      this.adam.step(this.params, this.grad, c.lr);
      this.tokens += batch.n;
      this.stepping = true;
      fx.stepStarted();
    } else if (c.kind === 'read') {
      if (this.stepping) this.deferred.push({ fragment: c.fragment, tag: c.tag });
      else this.events.push({ kind: 'read', tag: c.tag, values: applyToHost(this.params, this.engine.fragments, c)!, now: 0 });
    }
    else if (c.kind === 'load') {
      if (this.params.length !== c.params.length) this.params = Float32Array.from(c.params);
      else applyToHost(this.params, this.engine.fragments, c);
    } else if (c.kind === 'write') applyToHost(this.params, this.engine.fragments, c);
  }
}
