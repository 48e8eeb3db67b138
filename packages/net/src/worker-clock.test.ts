import { describe, expect, it } from 'vitest';
import { portClock, type TimerPort } from './worker-clock';
import { FakeClock } from '../test/fake-clock';

/** A timer worker the test drives: it records what the clock asked and posts back when told. */
class FakePort implements TimerPort {
  readonly armed = new Map<number, number>();
  readonly log: string[] = [];
  terminated = false;
  private fired: (id: number) => void = () => undefined;
  private failed: () => void = () => undefined;
  arm(id: number, ms: number): void { this.armed.set(id, ms); this.log.push(`arm ${id} ${ms}`); }
  cancel(id: number): void { this.armed.delete(id); this.log.push(`cancel ${id}`); }
  listen(fired: (id: number) => void, failed: () => void): void { this.fired = fired; this.failed = failed; }
  terminate(): void { this.terminated = true; }
  /** The worker's timer ran out and its message reached the page. */
  post(id: number): void { this.armed.delete(id); this.fired(id); }
  fail(): void { this.failed(); }
}

describe('the link clock with its timers in a worker (worker-clock.ts)', () => {
  it("a hidden page's throttled timers do not delay it: the worker's message runs the timer, the page's clock never does", () => {
    const page = new FakeClock(), port = new FakePort(), clock = portClock(port, page);
    const ran: string[] = [];
    clock.setTimeout(() => ran.push('heartbeat'), 1000);
    expect(port.log).toEqual(['arm 1 1000']);
    expect(page.pending).toBe(0); // nothing waits on the page's timers, which a hidden page wakes once a second or a minute
    port.post(1); // the worker's 1 s timer, on time, whatever the page's timers are doing
    expect(ran).toEqual(['heartbeat']);
    port.post(1); // a second message for the same id runs nothing
    expect(ran).toEqual(['heartbeat']);
  });

  it('a timer cancelled after the worker had already posted it does not run', () => {
    const page = new FakeClock(), port = new FakePort(), clock = portClock(port, page);
    let ran = 0;
    const h = clock.setTimeout(() => ran++, 5000);
    clock.clearTimeout(h);
    expect(port.log).toEqual(['arm 1 5000', 'cancel 1']);
    port.post(1); // the worker's message was already on its way when the cancel left
    expect(ran).toBe(0);
  });

  it("a failed worker: its timers move to the page's clock with the time they had left, later ones go there directly", () => {
    const page = new FakeClock(), port = new FakePort(), clock = portClock(port, page);
    const ran: Array<[string, number]> = [];
    clock.setTimeout(() => ran.push(['a', page.now()]), 1000); // due at 1000
    page.advance(400);
    clock.setTimeout(() => ran.push(['b', page.now()]), 5000); // due at 5400
    const c = clock.setTimeout(() => ran.push(['c', page.now()]), 100); // cancelled below, once on the page
    port.fail();
    port.fail(); // a second error event moves nothing twice
    expect(port.terminated).toBe(true);
    expect(page.pending).toBe(3);
    clock.clearTimeout(c);
    clock.setTimeout(() => ran.push(['d', page.now()]), 50); // after the failure: on the page, due at 450
    expect(port.log).toEqual(['arm 1 1000', 'arm 2 5000', 'arm 3 100']); // nothing more reached the dead worker
    page.advance(599);
    expect(ran).toEqual([['d', 450]]);
    page.advance(1);
    page.advance(10_000);
    expect(ran).toEqual([['d', 450], ['a', 1000], ['b', 5400]]);
    port.post(1); // a message the dead worker had queued runs nothing again
    expect(ran).toHaveLength(3);
  });

  it("without a worker (Node, a CSP without blob: workers) every timer is the page's", () => {
    const page = new FakeClock(), clock = portClock(undefined, page);
    let at = -1;
    clock.setTimeout(() => { at = clock.now(); }, 250);
    page.advance(249);
    expect(at).toBe(-1);
    page.advance(1);
    expect(at).toBe(250);
  });
});
