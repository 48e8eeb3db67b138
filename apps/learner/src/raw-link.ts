import { connectLearner, coordinatorPeerId } from '@tabswarm/net';
import type { LearnerConfig } from './config';

/**
 * A bare link to the run's coordinator that sends whatever bytes it is given: the hostile-input drill
 * (Playwright's fuzz spec, or a curious visitor at the console) proves the coordinator refuses garbage.
 * It adds no power an attacker lacks: anyone can open a data channel and send arbitrary bytes.
 */
export interface RawLink {
  readonly open: boolean;
  readonly received: number;
  readonly closes: number;
  send(bytes: number[]): Promise<void>;
  close(): void;
}

export function rawLink(cfg: LearnerConfig, learnerId: string): RawLink {
  let open = false, received = 0, closes = 0;
  const link = connectLearner({
    coordinatorId: coordinatorPeerId(cfg.runId), learnerId, signal: cfg.signal, iceServers: cfg.iceServers,
    onOpen: () => { open = true; },
    onMessage: () => { received++; },
    onClose: () => { open = false; closes++; },
  });
  return {
    get open() { return open; },
    get received() { return received; },
    get closes() { return closes; },
    send: (bytes) => link.send(Uint8Array.from(bytes)),
    close: () => link.close(),
  };
}
