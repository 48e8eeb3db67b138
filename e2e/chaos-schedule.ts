/**
 * The chaos schedule of `npm run swarm -- --chaos <spec>[,<spec>...] [--chaos-seed N]` (issue #4): a pure
 * parser, the timeline it implies and a seeded PRNG, so one spec and seed replay the same faults on the
 * same tab slots. Grammar (parts joined by commas, no spaces):
 *   kill:<count>@<every>           every <every>, close <count> learner tabs for real (their browser context,
 *                                  no goodbye) and open as many fresh ones: volunteers come and go
 *   freeze:<count>@<every>:<for>   every <every>, pause <count> learner tabs' main thread for <for> (CDP debugger)
 *   pause:<every>:<for>            every <every>, the coordinator handles nothing for <for> (<for> < <every>)
 *   drop:<percent>                 the coordinator loses that share of incoming messages, the whole run
 * <count>: a whole number of tabs, or a percentage of the tabs open at that moment (rounded, at least 1).
 * <every>, <for>: a number with a unit: ms, s or m. Example: kill:50%@30s,freeze:1@45s:10s,pause:60s:5s,drop:10%
 */

export type Count = { tabs: number } | { share: number };
export type Fault =
  | { kind: 'kill'; count: Count; everyMs: number }
  | { kind: 'freeze'; count: Count; everyMs: number; forMs: number }
  | { kind: 'pause'; everyMs: number; forMs: number }
  | { kind: 'drop'; rate: number };

const FORMS: Record<Fault['kind'], string> = {
  kill: 'kill:<count>@<every>, e.g. kill:50%@30s',
  freeze: 'freeze:<count>@<every>:<for>, e.g. freeze:1@45s:10s',
  pause: 'pause:<every>:<for>, e.g. pause:60s:5s',
  drop: 'drop:<percent>, e.g. drop:10%',
};

class SpecError extends Error {}

function ms(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(s);
  const v = m ? Number(m[1]) * { ms: 1, s: 1000, m: 60_000 }[m[2] as 'ms' | 's' | 'm'] : NaN;
  if (!(v > 0)) throw new SpecError(`"${s}" is not a positive duration with a unit (ms, s or m), e.g. 30s`);
  return v;
}

function percent(s: string): number {
  const m = /^(\d+(?:\.\d+)?)%$/.exec(s);
  const v = m ? Number(m[1]) / 100 : NaN;
  if (!(v > 0 && v <= 1)) throw new SpecError(`"${s}" is not a percentage in (0%, 100%]`);
  return v;
}

function count(s: string): Count {
  if (s.endsWith('%')) return { share: percent(s) };
  if (!/^[1-9]\d*$/.test(s)) throw new SpecError(`"${s}" is not a tab count (a whole number ≥ 1, or a percentage such as 50%)`);
  return { tabs: Number(s) };
}

function part(p: string): Fault {
  const [kind = '', ...rest] = p.split(':');
  if (!(kind in FORMS)) throw new SpecError(`unknown fault "${kind}" (known: ${Object.keys(FORMS).join(', ')})`);
  const k = kind as Fault['kind'];
  const at = (s: string | undefined): [string, string] => {
    const [c, e, extra] = (s ?? '').split('@');
    if (!c || !e || extra !== undefined) throw new SpecError(`expected ${FORMS[k]}`);
    return [c, e];
  };
  const arity = { kill: 1, freeze: 2, pause: 2, drop: 1 }[k];
  if (rest.length !== arity || rest.some((r) => !r)) throw new SpecError(`expected ${FORMS[k]}`);
  switch (k) {
    case 'kill': { const [c, e] = at(rest[0]); return { kind: k, count: count(c), everyMs: ms(e) }; }
    case 'freeze': { const [c, e] = at(rest[0]); return { kind: k, count: count(c), everyMs: ms(e), forMs: ms(rest[1]!) }; }
    case 'pause': {
      const everyMs = ms(rest[0]!), forMs = ms(rest[1]!);
      if (forMs >= everyMs) throw new SpecError(`a pause of ${rest[1]} every ${rest[0]} never lets the coordinator run`);
      return { kind: k, everyMs, forMs };
    }
    case 'drop': return { kind: k, rate: percent(rest[0]!) };
  }
}

/** Parses a whole --chaos value; throws an Error naming the offending part. */
export function parseChaos(spec: string): Fault[] {
  const faults = spec.split(',').map((p) => {
    try {
      return part(p);
    } catch (e) {
      if (e instanceof SpecError) throw new Error(`--chaos: bad part "${p}": ${e.message}`);
      throw e;
    }
  });
  if (faults.filter((f) => f.kind === 'drop').length > 1) throw new Error('--chaos: drop is given more than once');
  return faults;
}

/** --chaos-seed: any whole number ≥ 0. */
export function parseSeed(s: string, flag = '--chaos-seed'): number {
  if (!/^\d+$/.test(s)) throw new Error(`${flag}: "${s}" is not a whole number`);
  return Number(s);
}

/** When each fault fires, from 0 ms (the swarm's clock start) to before `untilMs`; drop fires once, at 0. */
export function timeline(faults: readonly Fault[], untilMs: number): Array<{ atMs: number; fault: Fault }> {
  const out: Array<{ atMs: number; fault: Fault }> = [];
  for (const fault of faults) {
    if (fault.kind === 'drop') out.push({ atMs: 0, fault });
    else for (let t = fault.everyMs; t < untilMs; t += fault.everyMs) out.push({ atMs: t, fault });
  }
  return out.sort((a, b) => a.atMs - b.atMs); // stable: equal times keep the spec's order
}

/** How many of `open` tabs a count names now. */
export function howMany(c: Count, open: number): number {
  return Math.min(open, 'tabs' in c ? c.tabs : Math.max(1, Math.round(c.share * open)));
}

/** mulberry32 in [0, 1): small seeds (1, 2, 3...) still give well-mixed, reproducible draws. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** `n` distinct items of `xs` drawn with `random` (a partial Fisher–Yates shuffle of a copy). */
export function pick<T>(random: () => number, xs: readonly T[], n: number): T[] {
  const a = [...xs];
  const k = Math.min(n, a.length);
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(random() * (a.length - i));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a.slice(0, k);
}
