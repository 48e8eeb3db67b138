import { describe, expect, it } from 'vitest';
import { backoffDelay, DEFAULT_BACKOFF } from './backoff';
import { BYE_MAGIC, byeFrame, readBye } from './bye';
import { coordinatorPeerId, isValidLearnerId, isValidPeerId, claimFromMetadata, learnerPeerId, sameSecret, randomToken } from './ids';

describe('ids', () => {
  it('validates logical learner ids as ASCII [A-Za-z0-9_-]{1,64}', () => {
    expect(isValidLearnerId('l8f3k2a_b-c')).toBe(true);
    expect(isValidLearnerId('x'.repeat(64))).toBe(true);
    for (const bad of ['', 'x'.repeat(65), 'a b', 'é', 'a/b', 42, null, undefined]) expect(isValidLearnerId(bad)).toBe(false);
  });

  it('reads the learner id and session secret from metadata defensively', () => {
    const secret = randomToken();
    expect(claimFromMetadata({ learnerId: 'abc', secret })).toEqual({ learnerId: 'abc', secret });
    expect(claimFromMetadata({ learnerId: 'abc' })).toBeUndefined(); // no secret: nothing to bind the id to
    expect(claimFromMetadata({ learnerId: 'abc', secret: 'short' })).toBeUndefined();
    expect(claimFromMetadata({ learnerId: 'a b', secret })).toBeUndefined();
    expect(claimFromMetadata('abc')).toBeUndefined();
    expect(claimFromMetadata(['abc'])).toBeUndefined();
    expect(claimFromMetadata(Object.create({ learnerId: 'abc', secret }))).toBeUndefined(); // inherited, not own
    expect(claimFromMetadata(null)).toBeUndefined();
    expect(sameSecret(secret, secret.slice())).toBe(true);
    expect(sameSecret(secret, `${secret.slice(0, -1)}x`)).toBe(false);
    expect(sameSecret(secret, secret.slice(1))).toBe(false);
  });

  it('derives PeerJS-valid, per-attempt peer ids from any valid learner id', () => {
    for (const id of ['alice', '__x__', 'a--b__c', '-', '_', 'l' + 'z'.repeat(63)]) {
      const p = learnerPeerId(id);
      expect(isValidPeerId(p)).toBe(true);
      expect(p).not.toBe(learnerPeerId(id));
    }
    expect(learnerPeerId('a--b__c', 'ff')).toBe('a-b-c-ff');
    expect(isValidPeerId(coordinatorPeerId('run1'))).toBe(true);
    expect(randomToken()).toMatch(/^[0-9a-f]{32}$/);
  });
});

describe('backoff', () => {
  it('grows exponentially with equal jitter up to the cap', () => {
    expect(backoffDelay(0, () => 0)).toBe(125);
    expect(backoffDelay(0, () => 0.999999)).toBeCloseTo(250, 2);
    expect(backoffDelay(3, () => 0)).toBe(1000);
    expect(backoffDelay(20, () => 0)).toBe(DEFAULT_BACKOFF.capMs / 2);
    expect(backoffDelay(20, () => 0.999999)).toBeLessThanOrEqual(DEFAULT_BACKOFF.capMs);
  });
});

describe('bye frames', () => {
  it('round-trip short reasons and refuse free-form text', () => {
    const f = byeFrame('replaced')!;
    expect(new DataView(f.buffer).getUint16(0, true)).toBe(BYE_MAGIC);
    expect(readBye(f)).toBe('replaced');
    expect(byeFrame('Not OK!')).toBeUndefined();
    const bad = f.slice();
    bad[2] = 3;
    expect(readBye(bad)).toBeUndefined();
  });
});
