/**
 * The coordinator's plots as data: uPlot options and aligned data for each chart, with every axis in its
 * unit. Pure (a type-only import of uPlot), so the dashboard (plot.ts) and the swarm report
 * (e2e/report.ts, which embeds these options as JSON) draw the same charts.
 */
import type { TimelinePoint } from '@tabswarm/core';
import type uPlot from 'uplot';

export interface ChartInput {
  loss: ReadonlyArray<{ tokens: number; loss: number; at: number }>;
  timeline: readonly TimelinePoint[];
}

export interface Chart {
  id: 'loss-tokens' | 'loss-time' | 'goodput' | 'bytes' | 'learners';
  /** Options without width and height, which the page sets. JSON-safe: no functions. */
  opts: Omit<uPlot.Options, 'width' | 'height'>;
  data: Array<Array<number | null>>;
}

const PALETTE = ['#1565c0', '#c62828', '#2e7d32', '#ef6c00', '#6a1b9a', '#00838f', '#ad1457', '#4e342e', '#9e9d24', '#37474f'];
const color = (i: number): string => PALETTE[i % PALETTE.length]!;
const line = (label: string, i: number, scale = 'y'): uPlot.Series => ({ label, scale, stroke: color(i), width: 2, spanGaps: true, points: { show: false } });
const axis = (label: string, scale: string, side: 0 | 1 | 2 | 3 = 3): uPlot.Axis => ({ label, scale, side, grid: { show: side !== 1 } });
const TIME = 'time since the coordinator started (s)';
const numericX = { x: { time: false } };

export function charts(c: ChartInput): Chart[] {
  const t = c.timeline, ts = t.map((p) => p.s);
  const ids = [...new Set(t.flatMap((p) => Object.keys(p.learners)))];
  return [
    {
      id: 'loss-tokens',
      opts: { title: 'Held-out loss vs merged tokens', scales: numericX, axes: [axis('merged tokens', 'x', 2), axis('loss (nats per token)', 'y')], series: [{ label: 'merged tokens' }, line('held-out loss (nats)', 0)] },
      data: [c.loss.map((p) => p.tokens), c.loss.map((p) => p.loss)],
    },
    {
      id: 'loss-time',
      opts: { title: 'Held-out loss vs time', scales: numericX, axes: [axis(TIME, 'x', 2), axis('loss (nats per token)', 'y')], series: [{ label: 's' }, line('held-out loss (nats)', 0)] },
      data: [c.loss.map((p) => p.at / 1000), c.loss.map((p) => p.loss)],
    },
    {
      id: 'goodput',
      opts: {
        title: 'Goodput and contributors per merge', scales: { ...numericX, pct: { auto: false, range: [0, 100] }, n: { auto: true } },
        axes: [axis(TIME, 'x', 2), axis('goodput (% merged)', 'pct'), axis('contributors (learners)', 'n', 1)],
        series: [{ label: 's' }, line('goodput (%)', 2, 'pct'), line('contributors per merge', 3, 'n')],
      },
      data: [ts, t.map((p) => p.goodputPct), t.map((p) => p.contributors)],
    },
    {
      id: 'bytes',
      opts: { title: 'Coordinator traffic', scales: numericX, axes: [axis(TIME, 'x', 2), axis('kB/s (1 kB = 1000 bytes)', 'y')], series: [{ label: 's' }, line('received (kB/s)', 0), line('sent (kB/s)', 1)] },
      data: [ts, t.map((p) => p.inKBps), t.map((p) => p.outKBps)],
    },
    {
      id: 'learners',
      opts: { title: 'Merged tokens per learner', scales: numericX, axes: [axis(TIME, 'x', 2), axis('merged tokens', 'y')], series: [{ label: 's' }, ...ids.map((id, i) => line(id, i))] },
      data: [ts, ...ids.map((id) => t.map((p) => p.learners[id] ?? null))],
    },
  ];
}
