/**
 * Draws charts.ts's charts with uPlot and keeps them current: new data goes in with setData; a chart
 * whose series changed (a learner joined) is built again.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { Chart } from './charts';

export class Plots {
  private readonly plots = new Map<string, { u: uPlot; series: string }>();

  /** `root` gets one element per chart id (`data-chart="loss-tokens"` …), made on first use. */
  constructor(private readonly root: HTMLElement, private readonly size: { width: number; height: number }) {}

  update(cs: readonly Chart[]): void {
    for (const c of cs) {
      const series = JSON.stringify(c.opts.series.map((s) => s.label));
      const have = this.plots.get(c.id);
      const data = c.data as uPlot.AlignedData;
      if (have && have.series === series) { have.u.setData(data); continue; }
      have?.u.destroy();
      let el = this.root.querySelector<HTMLElement>(`[data-chart="${c.id}"]`);
      if (!el) { el = document.createElement('div'); el.dataset.chart = c.id; this.root.append(el); }
      this.plots.set(c.id, { u: new uPlot({ ...c.opts, ...this.size }, data, el), series });
    }
  }
}
