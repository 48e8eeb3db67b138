import { afterEach, describe, expect, it, vi } from 'vitest';

// The learner page opened from a join URL, with a stand-in document: what a volunteer sees when the URL
// cannot be used. A join URL cut short in a chat loses the end of its #coord= fingerprint.
interface El { textContent: string; hidden: boolean; addEventListener: () => void }
function openPage(href: string): Record<string, El> {
  const els: Record<string, El> = {};
  vi.stubGlobal('location', new URL(href));
  vi.stubGlobal('window', {});
  vi.stubGlobal('document', { getElementById: (id: string) => (els[id] ??= { textContent: '', hidden: id === 'status', addEventListener: () => undefined }) });
  return els;
}

describe('the learner page on a join URL it cannot use', () => {
  afterEach(() => { vi.unstubAllGlobals(); vi.resetModules(); });

  it('says why instead of offering a Start button that does nothing', async () => {
    const els = openPage(`http://192.168.1.20:5173/learner/?run=demo&workload=digits#coord=${'A'.repeat(42)}`);
    await import('./main').catch(() => undefined);
    expect(els['s-error']?.textContent).toMatch(/^this join URL cannot be used: #coord="A{42}": want 43 base64url characters/);
    expect([els['consent']?.hidden, els['status']?.hidden, els['s-state']?.textContent]).toEqual([true, false, 'failed']);
  });
});
