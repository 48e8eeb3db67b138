/**
 * "What the model can do now" on the coordinator page, from the current global model in the evaluation
 * worker (never on this thread): a text sample every few seconds (text workload), or a box to draw a
 * digit in with the model's prediction (digits). The page's state lands in status.demo for the specs.
 */
import { digitInput } from '@tabswarm/core';
import type { CoordinatorDriver } from './driver';

/** How often the text sample and a drawn digit's prediction follow the model (ms). */
const DEMO_EVERY_MS = 5000;
/** Characters per sample and the worker's time budget for them (ms): a slow backend writes less, never later. */
const SAMPLE_CHARS = 120;
const SAMPLE_BUDGET_MS = 3000;
const PROMPT = 'The ';

export class Demo {
  private busy = false;
  /** What the shown sample or prediction is of: `${merges}/${drawings}`. */
  private shown = '';
  private drawings = 0;
  private pixels: Float32Array | null = null;

  constructor(private readonly driver: CoordinatorDriver, private readonly el: { box: HTMLCanvasElement; clear: HTMLElement; prediction: HTMLElement; sample: HTMLElement; step: HTMLElement }) {
    const workload = driver.cfg.workload;
    el.box.closest<HTMLElement>('[data-demo]')!.hidden = workload !== 'digits';
    el.sample.closest<HTMLElement>('[data-demo]')!.hidden = workload !== 'text';
    if (workload === 'digits') this.drawing();
    setInterval(() => void this.follow(), DEMO_EVERY_MS);
  }

  /** Refresh the sample or the prediction when the global model (or the drawing) changed since the last one. */
  private async follow(): Promise<void> {
    const s = this.driver.syncer;
    const key = `${s?.merges}/${this.drawings}`;
    if (!s || this.busy || key === this.shown) return;
    const step = s.globalStep;
    this.busy = true;
    const d = this.driver.status.demo;
    try {
      if (this.driver.cfg.workload === 'text') {
        d.sample = await this.driver.sample({ prompt: PROMPT, length: SAMPLE_CHARS, temperature: 0.8, seed: step, budgetMs: SAMPLE_BUDGET_MS });
        d.sampleStep = step;
        this.el.sample.textContent = d.sample;
        this.el.step.textContent = `at global step ${step}`;
      } else if (this.pixels) {
        const px = this.pixels, p = await this.driver.predict(px);
        if (px !== this.pixels) return; // cleared or redrawn meanwhile: this answer is about a drawing no longer there
        d.prediction = p;
        d.predictionStep = step;
        d.drawing = this.drawings;
        this.showPrediction(p);
      }
      this.shown = key;
      d.error = '';
    } catch (e) {
      d.error = `the demo failed: ${String(e)}`; // the next interval tries again, on a new worker if this one died
      (this.driver.cfg.workload === 'text' ? this.el.sample : this.el.prediction).textContent = d.error;
    } finally {
      this.busy = false;
    }
  }

  private showPrediction(p: readonly number[]): void {
    const best = p.indexOf(Math.max(...p));
    this.el.prediction.replaceChildren(
      Object.assign(document.createElement('p'), { className: 'guess', textContent: `${best} (${(100 * p[best]!).toFixed(0)}%)` }),
      ...p.map((v, k) => {
        const bar = document.createElement('div');
        bar.className = 'bar';
        bar.style.setProperty('--p', v.toFixed(3));
        bar.textContent = String(k);
        return bar;
      }),
    );
  }

  /** Pointer strokes on the box; each finished stroke asks the model at once. */
  private drawing(): void {
    const box = this.el.box, g = box.getContext('2d', { willReadFrequently: true })!;
    const stroke = box.width / 12; // ≈ 2 px of the 28×28 input once the digit is fitted to 20×20, like MNIST's pen
    let last: [number, number] | null = null;
    const at = (e: PointerEvent): [number, number] => {
      const r = box.getBoundingClientRect();
      return [((e.clientX - r.left) * box.width) / r.width, ((e.clientY - r.top) * box.height) / r.height];
    };
    box.addEventListener('pointerdown', (e) => { box.setPointerCapture(e.pointerId); last = at(e); });
    box.addEventListener('pointermove', (e) => {
      if (!last) return;
      const p = at(e);
      Object.assign(g, { lineWidth: stroke, lineCap: 'round', strokeStyle: 'black' });
      g.beginPath(); g.moveTo(...last); g.lineTo(...p); g.stroke();
      last = p;
    });
    box.addEventListener('pointerup', () => {
      last = null;
      const rgba = g.getImageData(0, 0, box.width, box.height).data;
      this.pixels = digitInput(rgba.filter((_, i) => i % 4 === 3), box.width, box.height); // alpha is the ink
      this.drawings++; // a new drawing: ask now, or at the next interval if a call is in flight
      void this.follow();
    });
    this.el.clear.addEventListener('click', () => {
      g.clearRect(0, 0, box.width, box.height);
      this.pixels = null;
      this.driver.status.demo.prediction = null;
      this.el.prediction.textContent = 'Draw a digit in the box.';
    });
  }
}
