/**
 * Send-side backpressure. RTCDataChannel.send never blocks: it queues in the browser and grows
 * `bufferedAmount` without bound. Before each frame the channel checks the high-water mark and, above
 * it, waits here until the browser drained to the low-water mark, with a deadline: a link that cannot
 * drain is useless for training and is closed rather than waited on forever.
 */
import type { Clock, TimerHandle } from './clock';
import { NetError } from './errors';
import type { DataChannelLike } from './transport';

/**
 * Cancels every pending wait when the link closes. (Not AbortSignal: dozens of queued senders would
 * trip Node's listener-leak warning in tests, and we need nothing else from it.)
 */
export class Cancel {
  aborted = false;
  private readonly fns = new Set<() => void>();

  add(fn: () => void): void { this.fns.add(fn); }
  remove(fn: () => void): void { this.fns.delete(fn); }

  cancel(): void {
    this.aborted = true;
    for (const fn of [...this.fns]) fn();
    this.fns.clear();
  }
}

export interface DrainOptions {
  /** Resolve once bufferedAmount <= this, in bytes. Also set as bufferedAmountLowThreshold. */
  lowWaterBytes: number;
  /** Give up after this long, in ms. */
  timeoutMs: number;
  clock: Clock;
  /** Cancels the wait (the link closed). */
  cancel?: Cancel;
  /** Re-check period in ms, in case a `bufferedamountlow` event is missed (default 100). */
  pollMs?: number;
}

export function waitForDrain(dc: DataChannelLike, o: DrainOptions): Promise<void> {
  if (o.cancel?.aborted) return Promise.reject(new NetError('closed', 'the link closed while waiting to send'));
  if (dc.readyState !== 'open') return Promise.reject(new NetError('closed', `data channel is ${dc.readyState}`));
  if (dc.bufferedAmount <= o.lowWaterBytes) return Promise.resolve();
  dc.bufferedAmountLowThreshold = o.lowWaterBytes;
  const pollMs = o.pollMs ?? 100;
  return new Promise<void>((resolve, reject) => {
    let poll: TimerHandle | undefined;
    let done = false;
    const finish = (err?: NetError): void => {
      if (done) return;
      done = true;
      o.clock.clearTimeout(deadline);
      if (poll !== undefined) o.clock.clearTimeout(poll);
      dc.removeEventListener('bufferedamountlow', check);
      dc.removeEventListener('close', check);
      o.cancel?.remove(onAbort);
      if (err) reject(err);
      else resolve();
    };
    const check = (): void => {
      if (dc.readyState !== 'open') finish(new NetError('closed', `data channel is ${dc.readyState}`));
      else if (dc.bufferedAmount <= o.lowWaterBytes) finish();
    };
    const onAbort = (): void => finish(new NetError('closed', 'the link closed while waiting to send'));
    const repoll = (): void => {
      check();
      if (!done) poll = o.clock.setTimeout(repoll, pollMs);
    };
    const deadline = o.clock.setTimeout(
      () => finish(new NetError('send-timeout', `bufferedAmount ${dc.bufferedAmount} B did not fall to ${o.lowWaterBytes} B within ${o.timeoutMs} ms`)),
      o.timeoutMs,
    );
    dc.addEventListener('bufferedamountlow', check);
    dc.addEventListener('close', check);
    o.cancel?.add(onAbort);
    poll = o.clock.setTimeout(repoll, pollMs);
  });
}
