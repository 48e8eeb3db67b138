import { describe, expect, it } from 'vitest';
import { Chaos } from './chaos';

describe('Chaos.throttle', () => {
  it('throttles a tab not yet throttled, and 0 ms lifts every throttle', () => {
    const chaos = new Chaos(7, () => 0);
    const a = chaos.throttle(['a', 'b'], 300);
    const b = chaos.throttle(['a', 'b'], 200);
    expect([a, b].sort()).toEqual(['a', 'b']); // the second click takes the other tab, whatever the seed
    expect(chaos.incoming(b!)).toEqual({ drop: false, delayMs: 200 });
    expect(chaos.throttle(['a', 'b'], 0)).toBe('all');
    expect(chaos.incoming('a')).toEqual({ drop: false, delayMs: 0 });
    expect(chaos.incoming('b')).toEqual({ drop: false, delayMs: 0 });
    expect(chaos.counts.throttle).toBe(3);
    expect(chaos.log.map((e) => e.target)).toEqual([a, b, 'all']);
  });

  it('with every tab throttled, a click re-throttles one of them; with none connected it does nothing', () => {
    const chaos = new Chaos(1, () => 0);
    chaos.throttle(['a'], 100);
    expect(chaos.throttle(['a'], 400)).toBe('a');
    expect(chaos.incoming('a')).toEqual({ drop: false, delayMs: 400 });
    expect(chaos.throttle([], 100)).toBeUndefined();
    expect(chaos.counts.throttle).toBe(2);
  });
});
