/**
 * WebGPU device loss (docs/fault-tolerance.md §5). `GPUDevice.lost` resolves once, with a reason, and TF.js
 * installs no handler and never recovers. After a loss every buffer is gone, so this worker's model is
 * unusable: every later call rejects with 'device-lost' and calls in flight are raced against the loss,
 * so they fail fast instead of hanging in `mapAsync`. Recovery is the caller's: terminate this worker,
 * start a new one (probe again, it may fall back to WASM) and reload the global weights.
 * Any reason counts, including "destroyed": we never destroy the device except through the debug hook,
 * which exists precisely to simulate a real loss.
 */
import type { GpuDeviceLike } from './backends';
import { PendingSet } from './deadline';
import { describeError, TrainerError } from './errors';

export interface LossInfo {
  reason: string;
  message: string;
}

export class DeviceLossWatch {
  private lostInfo: LossInfo | undefined;
  private device: GpuDeviceLike | undefined;
  /** Calls in flight on the device; a set (not a race against one shared promise) so nothing accumulates per call. */
  private readonly inFlight = new PendingSet();

  get info(): LossInfo | undefined {
    return this.lostInfo;
  }

  /**
   * Watches `device`, the one the active model lives on; undefined (a backend without one) stops watching.
   * Only that device counts: one left behind by a backend switch may go without harm.
   */
  watch(device: GpuDeviceLike | undefined): void {
    this.device = device;
    if (!device) return;
    device.lost.then(
      (i) => this.device === device && this.markLost({ reason: String(i?.reason ?? 'unknown'), message: String(i?.message ?? '') }),
      (e: unknown) => this.device === device && this.markLost({ reason: 'unknown', message: `device.lost rejected: ${describeError(e)}` }),
    );
  }

  markLost(info: LossInfo): void {
    if (this.lostInfo) return;
    this.lostInfo = info;
    this.inFlight.close(this.error());
  }

  /**
   * An unhandled rejection in the worker. While on WebGPU, the aborted-mapAsync pattern of TF.js issue
   * #8571 ("AbortError … Instance reference no longer exists") is a device loss that never reached `lost`.
   */
  noteUnhandled(reason: unknown): boolean {
    if (!this.device) return false;
    const text = `${reason instanceof Error ? reason.name : ''} ${describeError(reason)}`;
    if (/AbortError|Instance reference no longer exists|device (is |was )?lost|DeviceLost/i.test(text)) {
      this.markLost({ reason: 'unknown', message: `unhandled GPU error: ${text.trim()}` });
      return true;
    }
    return false;
  }

  /** Debug hook: destroys the watched device. False when there is none (not on WebGPU). */
  destroyForTest(): boolean {
    if (!this.device) return false;
    this.device.destroy();
    return true;
  }

  error(): TrainerError {
    const i = this.lostInfo;
    return new TrainerError('device-lost', i ? `WebGPU device lost (${i.reason}${i.message ? `: ${i.message}` : ''}); terminate this worker and start another` : 'WebGPU device lost');
  }

  throwIfLost(): void {
    if (this.lostInfo) throw this.error();
  }

  /** Settles like `p`, unless the device is lost first (then rejects with 'device-lost'). */
  race<T>(p: Promise<T>): Promise<T> {
    if (!this.device && !this.lostInfo) return p;
    p.catch(() => undefined); // if the loss wins, p's own later rejection is expected and must not go unhandled
    return this.inFlight.track(p);
  }
}
