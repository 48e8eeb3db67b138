import type { CoordinatorHost, CoordinatorSigner } from '@tabswarm/net';
import type { CoordinatorStatus } from './status';

/**
 * Everything the coordinator sends, in the order the syncer issued it: each frame is signed with the
 * run's key (docs/security.md §2) behind every frame before it, then handed to the links. Callers return
 * at once, so the commit queue never waits for a signature, and a pull (which skips that queue) still
 * leaves after what was issued before it. A link drop waits behind the same queue, so a refusal said just
 * before it still leaves. A key that cannot sign stops the coordinator (`fail`): nothing leaves unsigned.
 */
export class Outbox {
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly signer: CoordinatorSigner,
    private readonly host: CoordinatorHost,
    private readonly status: CoordinatorStatus,
    private readonly fail: (e: unknown) => void,
  ) {}

  /** One learner's frame; `snapshot` counts it apart (a join's whole model, not per-step traffic). */
  send(to: string, frame: Uint8Array, snapshot = false): void {
    this.sealed(frame, (bytes) => {
      this.status.bytesOut += bytes.length;
      if (snapshot) this.status.snapshotBytes += bytes.length;
      this.host.send(to, bytes).catch(() => undefined); // a failed send means the link is closing: onLeave follows
    });
  }

  /** One frame for every id in `to`, signed once; `delivered` runs when every link has taken it or failed. */
  broadcast(to: readonly string[], frame: Uint8Array, delivered: () => void): void {
    this.sealed(frame, (bytes) => {
      this.status.bytesOut += bytes.length * to.length;
      void this.host.broadcast(to, bytes).then(delivered);
    });
  }

  /** Close a learner's link after every frame queued before; `closed` runs once it is carried out. */
  drop(id: string, reason: string, closed: () => void): void {
    this.queue = this.queue.then(() => this.host.drop(id, reason)).finally(closed);
  }

  private sealed(frame: Uint8Array, deliver: (bytes: Uint8Array) => void): void {
    this.queue = this.queue.then(async () => {
      if (this.status.state === 'failed') return;
      const t0 = performance.now();
      const bytes = await this.signer.seal(frame);
      this.status.signMs = 0.9 * this.status.signMs + 0.1 * (performance.now() - t0);
      deliver(bytes);
    }).catch((e: unknown) => this.fail(e));
  }
}
