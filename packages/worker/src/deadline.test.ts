import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DeadlineError, PendingSet, withDeadline } from './deadline';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** A promise with its resolve/reject handles, to settle it at a chosen moment. */
function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void, reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

describe('withDeadline', () => {
  it('resolves with the value when the promise wins, and leaves no timer behind', async () => {
    const d = deferred<number>();
    const p = withDeadline(d.promise, 1000, 'x');
    await vi.advanceTimersByTimeAsync(999);
    d.resolve(7);
    await expect(p).resolves.toBe(7);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('rejects with DeadlineError naming the label and the time when the deadline wins', async () => {
    const d = deferred<number>();
    const p = withDeadline(d.promise, 1000, 'init wasm');
    const seen = expect(p).rejects.toThrow(new DeadlineError('init wasm', 1000));
    await vi.advanceTimersByTimeAsync(1000);
    await seen;
    await expect(p).rejects.toMatchObject({ name: 'DeadlineError', label: 'init wasm', ms: 1000, message: 'init wasm timed out after 1000 ms' });
    d.resolve(1); // late settlement changes nothing
    await expect(p).rejects.toBeInstanceOf(DeadlineError);
  });

  it('passes the rejection of the promise through and swallows one that comes after the deadline', async () => {
    const early = deferred<number>();
    const p1 = withDeadline(early.promise, 1000, 'a');
    early.reject(new Error('boom'));
    await expect(p1).rejects.toThrow('boom');
    expect(vi.getTimerCount()).toBe(0);

    const late = deferred<number>();
    const p2 = withDeadline(late.promise, 10, 'b');
    const seen = expect(p2).rejects.toBeInstanceOf(DeadlineError);
    await vi.advanceTimersByTimeAsync(10);
    await seen;
    late.reject(new Error('late')); // must not surface as an unhandled rejection
    await vi.advanceTimersByTimeAsync(1);
  });

  it('uses a custom error factory and injected timers', async () => {
    const calls: number[] = [];
    let fire: (() => void) | undefined;
    const timers = { setTimeout: (fn: () => void, ms: number) => ((fire = fn), calls.push(ms), 1), clearTimeout: () => undefined };
    const p = withDeadline(new Promise<never>(() => undefined), 250, 'train', timers, (l, ms) => new RangeError(`${l}/${ms}`));
    expect(calls).toEqual([250]);
    fire?.();
    await expect(p).rejects.toThrow(new RangeError('train/250'));
  });

  it('refuses deadlines that are not a positive, representable number of ms', async () => {
    for (const ms of [0, -1, NaN, Infinity, 2 ** 31]) {
      await expect(withDeadline(Promise.resolve(1), ms, 'x')).rejects.toBeInstanceOf(RangeError);
    }
  });
});

describe('PendingSet', () => {
  it('passes results and errors through and forgets settled calls', async () => {
    const s = new PendingSet();
    const a = deferred<string>(), b = deferred<string>();
    const pa = s.track(a.promise), pb = s.track(b.promise);
    expect(s.size).toBe(2);
    a.resolve('ok');
    b.reject(new Error('no'));
    await expect(pa).resolves.toBe('ok');
    await expect(pb).rejects.toThrow('no');
    expect(s.size).toBe(0);
  });

  it('rejectAll fails every pending call but accepts later ones', async () => {
    const s = new PendingSet();
    const a = deferred<number>(), b = deferred<number>();
    const pa = s.track(a.promise), pb = s.track(b.promise);
    const err = new Error('worker crashed');
    s.rejectAll(err);
    await expect(pa).rejects.toBe(err);
    await expect(pb).rejects.toBe(err);
    a.resolve(1); // too late: stays rejected
    await expect(pa).rejects.toBe(err);
    const c = deferred<number>();
    const pc = s.track(c.promise);
    c.resolve(3);
    await expect(pc).resolves.toBe(3);
  });

  it('close fails pending and all later calls with the first reason', async () => {
    const s = new PendingSet();
    const a = deferred<number>();
    const pa = s.track(a.promise);
    const first = new Error('terminated'), second = new Error('crashed');
    s.close(first);
    s.close(second);
    expect(s.closed).toBe(first);
    await expect(pa).rejects.toBe(first);
    const late = deferred<number>();
    const pl = s.track(late.promise);
    late.reject(new Error('ignored')); // must not become unhandled
    await expect(pl).rejects.toBe(first);
    expect(s.size).toBe(0);
  });

  it('a deadline inside a pending set: timeout and rejectAll race cleanly', async () => {
    const s = new PendingSet();
    const hung = s.track(withDeadline(new Promise<never>(() => undefined), 500, 'train'));
    const other = s.track(new Promise<never>(() => undefined));
    const seen = expect(hung).rejects.toBeInstanceOf(DeadlineError);
    await vi.advanceTimersByTimeAsync(500);
    await seen;
    s.close(new Error('terminated after timeout'));
    await expect(other).rejects.toThrow('terminated after timeout');
    expect(vi.getTimerCount()).toBe(0);
  });
});
