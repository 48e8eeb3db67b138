import type { TimelinePoint } from '@tabswarm/core';
import { describe, expect, it } from 'vitest';
import { charts } from '../apps/coordinator/src/charts';
import { reportHtml, type ReportView } from './report';
import { summarize } from './swarm-summary';

const timeline: TimelinePoint[] = [
  { s: 2, mergedTokens: 0, goodputPct: null, contributors: null, inKBps: 0, outKBps: 0, learners: { a: 0 } },
  { s: 4, mergedTokens: 80, goodputPct: 90, contributors: 2, inKBps: 3, outKBps: 5, learners: { a: 50, b: 30 } },
];
const loss = [{ step: 0, tokens: 0, loss: 2.3, at: 1500 }, { step: 9, tokens: 80, loss: 1.1, at: 4200 }];

describe('charts', () => {
  it('gives each chart aligned data and axes labelled in units', () => {
    const cs = charts({ loss, timeline });
    expect(cs.map((c) => c.id)).toEqual(['loss-tokens', 'loss-time', 'goodput', 'bytes', 'learners']);
    for (const c of cs) {
      expect(c.data.length).toBe(c.opts.series.length); // x plus one column per series
      for (const col of c.data) expect(col.length).toBe(c.data[0]!.length);
      for (const a of c.opts.axes ?? []) expect(String(a.label)).toMatch(/\(|tokens/); // a unit in brackets, or a count of tokens
    }
    const byId = Object.fromEntries(cs.map((c) => [c.id, c]));
    expect(byId['loss-time']!.data[0]).toEqual([1.5, 4.2]); // seconds on the coordinator's clock
    expect(byId['learners']!.data).toEqual([[2, 4], [0, 50], [null, 30]]); // b joined late: no value before
    expect(byId['goodput']!.data.slice(1)).toEqual([[null, 90], [null, 2]]);
  });
});

describe('reportHtml', () => {
  it('inlines uPlot and the charts, with nothing in the data able to close the script', () => {
    const view = {
      state: 'running', error: '', globalStep: 9, merges: 4, mergedTokens: 80, numParams: 101_770, epoch: 1, resumedFrom: null, commitSeq: 4,
      committedHash: '', restoredHash: '', firstCommitAfterStartMs: null, downtimeMs: 0,
      goodput: { trained: 90, merged: 80, ratio: 0.9, stale: 0, filtered: 0, invalid: 0, superseded: 0, killedOrLost: 0, pending: 10 },
      chaos: {}, learners: [], loss, evalFailures: 0, evalError: '', rejections: {}, repulls: 0, refusedConnections: {}, fingerprint: '', bytesIn: 0, bytesOut: 0, contributorsTotal: 8,
      timeline: [{ ...timeline[1]!, learners: { '</script><b>': 1 } }],
    } satisfies ReportView;
    const html = reportHtml(view, { learners: 2 }, summarize({ ...view, mergesPerFragment: [4], snapshotBytes: 0, learnerSteps: 9 }, undefined));
    expect(html).toContain('uPlot'); // the library itself, not a link to it
    expect(html.match(/<\/script>/g)?.length).toBe(2); // uPlot's and ours: the learner id's was escaped
    expect(html).toContain('Held-out loss vs merged tokens');
  });
});
