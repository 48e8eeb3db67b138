import { decodeMessage, DEFAULT_LIMITS, parseSigned } from '@tabswarm/core';
import { connectLearner, coordinatorPeerId, randomToken, type LearnerLinkStats } from '@tabswarm/net';
import type { LearnerConfig } from './config';

/**
 * A bare link to the run's coordinator that sends whatever bytes it is given: the hostile-input drill
 * (Playwright's fuzz spec, or a curious visitor at the console) proves the coordinator refuses garbage.
 * It adds no power an attacker lacks: anyone can open a data channel and send arbitrary bytes. It has a
 * session secret of its own, so it can use a live learner's id only to be refused (the identity spec).
 */
export interface RawLink {
  readonly open: boolean;
  readonly received: number;
  readonly closes: number;
  /** Why the link last closed ('' until it has): the channel's reason, e.g. 'heartbeat-timeout' or 'remote:too-many-strikes'. */
  readonly closeReason: string;
  /** The link's counters: state, buffered bytes, silence (learner-link.ts). */
  stats(): LearnerLinkStats;
  /** What the last RECENT messages received said (headers only: a snapshot's parameters are left out),
   * oldest first, after the latest snapshot however old, so a drill can answer the coordinator's pulls
   * with forged pushes as an attacker would. */
  recent(): Heard[];
  send(bytes: number[]): Promise<void>;
  close(): void;
}

/** A received message without its bulk: enough to aim a push at an open round. */
export interface Heard {
  type: string;
  epoch?: number; versions?: number[]; tokensPerStep?: number; fragment?: number; round?: number; version?: number;
  seq?: number; outcome?: string; reason?: string | null;
}

function heard(bytes: Uint8Array): Heard {
  const limits = { ...DEFAULT_LIMITS, maxBytes: Infinity, maxParams: Infinity, maxPayload: Infinity };
  // The coordinator signs its frames (docs/security.md §2); an attacker reads the inner frame unverified.
  const s = parseSigned(bytes, limits);
  const d = s.ok ? decodeMessage(s.value.frame, limits) : s;
  if (!d.ok) return { type: `undecodable: ${d.reason}` };
  const m = d.value;
  switch (m.type) {
    case 'snapshot': return { type: m.type, epoch: m.epoch, versions: m.versions, tokensPerStep: m.config.tokensPerStep };
    case 'pull': return { type: m.type, fragment: m.fragment, round: m.round };
    case 'broadcast': return { type: m.type, epoch: m.epoch, fragment: m.fragment, version: m.version };
    case 'ack': return { type: m.type, fragment: m.fragment, round: m.round, seq: m.seq, outcome: m.outcome, reason: m.reason };
    default: return { type: m.type };
  }
}

/** Messages a raw link remembers: a snapshot, the pulls and acks of a few rounds, and their broadcasts. */
const RECENT = 64;

export function rawLink(cfg: LearnerConfig, learnerId: string): RawLink {
  let open = false, received = 0, closes = 0, closeReason = '';
  const frames: Heard[] = [];
  let snapshot: Heard | undefined;
  const link = connectLearner({
    coordinatorId: coordinatorPeerId(cfg.runId), learnerId, secret: randomToken(), signal: cfg.signal, iceServers: cfg.iceServers,
    onOpen: () => { open = true; },
    onMessage: (bytes) => {
      received++;
      const h = heard(bytes);
      if (h.type === 'snapshot') snapshot = h;
      else { frames.push(h); if (frames.length > RECENT) frames.shift(); }
    },
    onClose: (reason) => { open = false; closes++; closeReason = reason; },
  });
  return {
    get open() { return open; },
    get received() { return received; },
    get closes() { return closes; },
    get closeReason() { return closeReason; },
    stats: () => link.stats(),
    recent: () => [...(snapshot ? [snapshot] : []), ...frames],
    send: (bytes) => link.send(Uint8Array.from(bytes)),
    close: () => link.close(),
  };
}
