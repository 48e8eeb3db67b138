import { describe, expect, it } from 'vitest';
import { makeLayout } from '../layout';
import { makeRng } from '../rng';
import { makeSyncConfig } from './config';
import { CrashWorld } from './crash-world';
import type { ModelState } from './global-model';
import { replayLog } from './replay';

/**
 * Exactly-once pushes (docs/fault-tolerance.md §2): the real core under 10,000 random sequences of train /
 * deliver / duplicate / reorder / lost message / learner kill / reconnect / coordinator crash at any
 * point of the commit path.
 * After every command: each acked push is in the durable log exactly once, no push is merged twice,
 * commits are numbered +1, replaying the log from θ₀ gives the durable state bit for bit, all finite,
 * every tab holds each fragment with the syncer's bits for that version (fp32, int8 and int4 downlinks);
 * and once the outbox is drained the coordinator's memory equals its durable state.
 */
const layout = makeLayout([
  { name: 'w', shape: [3], kind: 'dense' },
  { name: 'b', shape: [2], kind: 'dense' },
  { name: 'e', shape: [2], kind: 'embedding' },
]);
const theta0 = Float32Array.from([0.1, -0.2, 0.3, 0.05, -0.05, 1, -1]);

function runSequence(seed: number, steps: number): CrashWorld {
  const rng = makeRng(seed);
  const cfg = makeSyncConfig({
    runId: 'eo', P: 2, H: 2, tau: 1 + rng.int(2), K: 1 + rng.int(2), uplinkCodec: rng.next() < 0.5 ? 0 : 2,
    historyDepth: 2 + rng.int(3), minStepMs: 1e-3, roundTimeoutMs: 50, heartbeatMinMs: 1e9,
    // The crash world's fake inner step moves 1% of the way to 0.5 whatever the learning rate: no AdamW bound.
    stepBound: Number.MAX_VALUE,
    // 'auto' switches mode from merge to merge (three tabs, one contributor: Delayed Nesterov with N = 3).
    outer: { lr: 0.7, momentum: 0.9, kind: ((a) => (a < 0.2 ? 'delayed-nesterov' : a < 0.4 ? 'nesterov' : 'auto'))(rng.next()), delayPeriod: 2 },
    downlink: (['fp32', 'int8', 'int4'] as const)[rng.int(3)], blockSize: 8 + rng.int(57),
  });
  const w = new CrashWorld(cfg, layout, theta0, rng.fork());
  const nTabs = 1 + rng.int(3);
  for (let i = 0; i < nTabs; i++) w.addTab();
  const seen = new Map<string, number>();
  for (let s = 0; s < steps; s++) {
    const t = w.tabs[rng.int(w.tabs.length)]!;
    const a = rng.next();
    if (a < 0.2) w.train(t, 1 + rng.int(3));
    else if (a < 0.55) w.deliver(t, rng.next() < 0.5, false);
    else if (a < 0.58) w.deliver(t, rng.next() < 0.5, true); // duplicate
    else if (a < 0.61) w.drop(t, rng.next() < 0.5); // lost message, lost ack included
    else if (a < 0.62) w.kill(t);
    else if (a < 0.67) { if (!t.connected || rng.next() < 0.1) w.connect(t); }
    else if (a < 0.68) w.crashCoordinator(); // anywhere: before, between or after the write and the sends
    else if (a < 0.72) w.tick(1 + rng.int(40));
    else w.flush(1 + rng.int(4));
    check(w, seen, seed, s);
  }
  w.flush(Infinity);
  check(w, seen, seed, steps);
  return w;
}

function check(w: CrashWorld, seen: Map<string, number>, seed: number, step: number): void {
  const where = `seed ${seed}, step ${step}`;
  const merged = new Map<string, number>();
  for (const e of w.log) for (const k of e.contributors) { const key = `${k.id}/${k.session}/${k.seq}`; merged.set(key, (merged.get(key) ?? 0) + 1); }
  for (const [key, n] of merged) if (n !== 1) throw new Error(`${where}: push ${key} merged ${n} times`);
  for (const t of w.tabs) for (const key of t.acked) if (merged.get(key) !== 1) throw new Error(`${where}: acked push ${key} is not in the durable log`);
  if (w.disk.commitSeq !== w.log.length) throw new Error(`${where}: commit seq ${w.disk.commitSeq} for ${w.log.length} log entries`);
  if (!w.disk.theta.every(Number.isFinite)) throw new Error(`${where}: non-finite durable parameters`);
  if (w.log.length !== (seen.get('log') ?? 0)) {
    seen.set('log', w.log.length);
    const r = replayLog(w.cfg, w.layout, theta0, w.log);
    if (!r.ok) throw new Error(`${where}: replay failed: ${r.detail}`);
    if (!sameBits(r.value.theta, w.disk.theta)) throw new Error(`${where}: replayed parameters differ from the durable state`);
    r.value.outer.forEach((o, p) => {
      const d = w.disk.outer[p]!;
      if (!sameBits(o.buf, d.buf)) throw new Error(`${where}: replayed momentum ${p} differs`);
      if (o.count !== d.count || (o.acc === null) !== (d.acc === null) || (o.acc && !sameBits(o.acc, d.acc!))) throw new Error(`${where}: replayed Delayed Nesterov cycle ${p} differs`);
    });
    if (r.value.versions.join() !== w.disk.versions.join()) throw new Error(`${where}: replayed versions differ`);
  }
  if (w.outbox.length === 0 && !sameBits(w.syncer.model.theta, w.disk.theta)) throw new Error(`${where}: drained coordinator differs from its durable state`);
  // Every copy stays bit-identical: a tab of this incarnation holds each fragment exactly as the syncer
  // committed that version, whether it came as full values or as a quantised update (downlink.ts).
  for (const t of w.tabs) {
    const st = t.engine.state;
    if (!st.joined || st.epoch !== w.syncer.epoch) continue;
    st.anchors.forEach((a, p) => {
      const committed = w.syncer.model.at(p, st.baseVersions[p]!);
      if (committed && !sameBits(committed, a)) throw new Error(`${where}: ${t.id} holds fragment ${p} v${st.baseVersions[p]} with other bits than the syncer`);
    });
  }
}

const sameBits = (a: Float32Array, b: Float32Array): boolean =>
  a.length === b.length && new Uint32Array(a.buffer, a.byteOffset, a.length).every((x, i) => x === new Uint32Array(b.buffer, b.byteOffset, b.length)[i]);

describe('exactly-once commit path (model-based, 10,000 sequences)', () => {
  it('keeps every invariant after every command', () => {
    let commits = 0, acked = 0, crashes = 0, switches = 0;
    for (let seed = 1; seed <= 10_000; seed++) {
      // 320 actions: the engine sends a META after every step (as the paper's learner does), so the random
      // deliveries are spread over more messages than 250 actions used to need for ~10,000 commits.
      const w = runSequence(seed, 320);
      commits += w.commitsWritten;
      if (w.cfg.outer.kind === 'auto') switches += w.log.filter((e, i) => i > 0 && e.outer!.kind !== w.log[i - 1]!.outer!.kind).length;
      acked += w.tabs.reduce((s, t) => s + t.acked.length, 0);
      crashes += w.incarnation - 1;
    }
    // The sequences must actually exercise the path: many commits, acks and crashes in total.
    console.log(`exactly-once: ${commits} commits, ${acked} merged acks, ${crashes} coordinator crashes, ${switches} 'auto' mode switches over 10,000 sequences`);
    expect(commits).toBeGreaterThan(8_000);
    expect(switches).toBeGreaterThan(50);
    expect(acked).toBeGreaterThan(5_000);
    expect(crashes).toBeGreaterThan(20_000);
  }, 120_000);
});

describe('merge log as NDJSON', () => {
  it('a downloaded log (θ₀ line + entries) parses back and replays to the durable state bit for bit', async () => {
    const { logLine, parseLog, theta0Line, toBase64, fromBase64 } = await import('./log-format');
    for (const n of [0, 1, 2, 3, 4, 5, 300]) {
      const b = Uint8Array.from({ length: n }, (_, i) => (i * 37 + n) & 255);
      expect(fromBase64(toBase64(b))).toEqual(b);
    }
    expect(fromBase64('a$==')).toBeNull();
    let w: CrashWorld | undefined;
    for (let seed = 1; !w || w.log.length < 3 || w.cfg.downlink === 'fp32'; seed++) w = runSequence(seed, 250);
    const text = [theta0Line(theta0), ...w.log.map(logLine)].join('\n') + '\n';
    const parsed = parseLog(text);
    if (!parsed.ok) throw new Error(parsed.detail);
    expect(parsed.value.entries).toEqual(w.log);
    const r = replayLog(w.cfg, layout, parsed.value.theta0, parsed.value.entries);
    expect(r.ok && sameBits(r.value.theta, w.disk.theta)).toBe(true);
    // Each entry carries its downlink quantisation: a coordinator reloaded with another downlink replays the same bits.
    for (const downlink of ['fp32', 'int8', 'int4'] as const) {
      const again = replayLog({ ...w.cfg, downlink }, layout, parsed.value.theta0, parsed.value.entries);
      expect(again.ok && sameBits(again.value.theta, w.disk.theta)).toBe(true);
    }
    expect(parseLog('{"theta0": 5}\n').ok).toBe(false);
  });
});

describe('merge log: the outer step of each merge', () => {
  const sameState = (a: { theta: Float32Array; outer: Array<{ buf: Float32Array; acc: Float32Array | null; count: number }> }, d: CrashWorld['disk']): boolean =>
    sameBits(a.theta, d.theta) && a.outer.every((o, p) => sameBits(o.buf, d.outer[p]!.buf) && o.count === d.outer[p]!.count && (o.acc ?? new Float32Array(o.buf.length)).every((x, i) => x === (d.outer[p]!.acc?.[i] ?? 0)));
  // The first sequences that fit, from seeds found once (a search from 1 takes seconds): if the sequences
  // change, the search goes on from there.
  const find = (want: (w: CrashWorld) => boolean, from = 1): CrashWorld => {
    for (let seed = from; seed <= 20_000; seed++) { const w = runSequence(seed, 320); if (want(w)) return w; }
    throw new Error('no sequence fits');
  };
  const modes = (w: CrashWorld): string => w.log.map((e) => (e.outer!.kind === 'nesterov' ? 'N' : 'D')).join('');

  it("replays a log whose 'auto' merges alternate modes bit for bit, whatever the replaying config says", () => {
    const w = find((x) => x.cfg.outer.kind === 'auto' && /N+D+N/.test(modes(x)), 6682); // N N D N
    for (const kind of ['auto', 'nesterov', 'delayed-nesterov'] as const) {
      const r = replayLog({ ...w.cfg, outer: { ...w.cfg.outer, kind, delayPeriod: 7 } }, layout, theta0, w.log);
      if (!r.ok) throw new Error(r.detail);
      expect(sameState(r.value, w.disk)).toBe(true);
    }
    // The recorded modes are what makes it so: the same log without them replays as all-Nesterov, and differs.
    const unrecorded = replayLog(w.cfg, layout, theta0, w.log.map(({ outer: _outer, ...e }) => e));
    expect(unrecorded.ok && !sameState(unrecorded.value, w.disk)).toBe(true);
  });

  it('replays log lines without the field with the forced mode of the config, as before', () => {
    for (const kind of ['nesterov', 'delayed-nesterov'] as const) {
      const w = find((x) => x.cfg.outer.kind === kind && x.log.length >= 4, kind === 'nesterov' ? 834 : 26);
      const old = w.log.map(({ outer: _outer, ...e }) => e);
      const r = replayLog(w.cfg, layout, theta0, old);
      expect(r.ok && sameState(r.value, w.disk)).toBe(true);
    }
  });

  it('refuses a corrupt outer step with a reason', () => {
    const w = find((x) => x.log.length >= 1);
    for (const outer of [{ kind: 'adam', delayPeriod: 1 }, { kind: 'delayed-nesterov', delayPeriod: 0 }, { kind: 'delayed-nesterov', delayPeriod: 1.5 }]) {
      const r = replayLog(w.cfg, layout, theta0, [{ ...w.log[0]!, outer: outer as never }]);
      expect(r.ok ? 'ok' : r.reason).toBe('bad-field');
    }
  });
});

describe('merge log from a rebased state (a model import or a loaded state file)', () => {
  /** The first commit after which every later merge builds on a version at or after the one committed then:
   * what an import guarantees (a new epoch, an empty dedupe table), so the tail replays from that state alone. */
  function rebaseAt(w: CrashWorld): { n: number; start: ModelState } | undefined {
    for (let n = 1; n + 2 <= w.log.length; n++) {
      const r = replayLog(w.cfg, layout, theta0, w.log.slice(0, n));
      if (!r.ok) return undefined;
      if (w.log.slice(n).every((e) => e.contributors.every((k) => k.baseVersion >= r.value.versions[e.fragment]!))) return { n, start: r.value };
    }
    return undefined;
  }

  it('the log\'s first line carries the start\'s versions and momentum, and the tail replays from it to the durable state bit for bit', async () => {
    const { logLine, parseLog, theta0Line } = await import('./log-format');
    let found: { w: CrashWorld; n: number; start: ModelState } | undefined;
    for (let seed = 1; !found && seed <= 2_000; seed++) {
      const w = runSequence(seed, 320), at = rebaseAt(w);
      if (at && at.start.versions.some((v) => v > 0)) found = { w, ...at };
    }
    if (!found) throw new Error('no sequence fits');
    const { w, n, start } = found;
    expect(start.outer.some((o) => o.buf.some((x) => x !== 0)), 'momentum at the start').toBe(true);
    const text = [theta0Line(start.theta, { versions: start.versions, outer: start.outer }), ...w.log.slice(n).map(logLine)].join('\n') + '\n';
    const parsed = parseLog(text);
    if (!parsed.ok) throw new Error(parsed.detail);
    expect(parsed.value.from?.versions).toEqual(start.versions);
    const r = replayLog(w.cfg, layout, parsed.value.theta0, parsed.value.entries, parsed.value.from);
    if (!r.ok) throw new Error(r.detail);
    expect(sameBits(r.value.theta, w.disk.theta) && r.value.versions.join() === w.disk.versions.join()).toBe(true);
    expect(r.value.outer.every((o, p) => sameBits(o.buf, w.disk.outer[p]!.buf))).toBe(true);
    // From θ alone (zero momentum, version 0), as the coordinator replayed an imported run before: refused or different.
    const bare = replayLog(w.cfg, layout, start.theta, w.log.slice(n));
    expect(bare.ok && sameBits(bare.value.theta, w.disk.theta)).toBe(false);
  });

  it('refuses a start line that does not fit the model, with a reason', async () => {
    const { parseLog, theta0Line } = await import('./log-format');
    const outer = [{ buf: new Float32Array(2), acc: null, count: 0 }];
    const short = parseLog(`${theta0Line(theta0, { versions: [1], outer })}\n`);
    if (!short.ok) throw new Error(short.detail);
    const cfg = makeSyncConfig({ runId: 'eo', P: 2 });
    const r = replayLog(cfg, layout, short.value.theta0, [], short.value.from);
    expect(r.ok ? 'ok' : r.reason).toBe('length-mismatch');
    expect(parseLog('{"theta0": "AAAAAA==", "versions": [1]}\n').ok).toBe(false);
    expect(parseLog('{"theta0": "AAAAAA==", "versions": [1], "outer": [{"buf": "AAAAAA==", "acc": 7, "count": 0}]}\n').ok).toBe(false);
  });
});
