/** A small dependency-free line plot of held-out loss against merged tokens. */
export function drawLoss(canvas: HTMLCanvasElement, points: ReadonlyArray<{ tokens: number; loss: number }>): void {
  const g = canvas.getContext('2d');
  if (!g) return;
  const { width: w, height: h } = canvas, pad = 36;
  g.clearRect(0, 0, w, h);
  g.strokeStyle = '#888';
  g.strokeRect(pad, 8, w - pad - 8, h - pad - 8);
  if (points.length === 0) return;
  const xs = points.map((p) => p.tokens), ys = points.map((p) => p.loss);
  const x0 = Math.min(...xs), x1 = Math.max(...xs, x0 + 1), y0 = Math.min(...ys), y1 = Math.max(...ys, y0 + 1e-6);
  const X = (x: number): number => pad + ((x - x0) / (x1 - x0)) * (w - pad - 8);
  const Y = (y: number): number => 8 + (1 - (y - y0) / (y1 - y0)) * (h - pad - 8);
  g.fillStyle = '#444';
  g.font = '11px system-ui, sans-serif';
  g.fillText(y1.toFixed(3), 2, 16);
  g.fillText(y0.toFixed(3), 2, h - pad);
  g.fillText(`${Math.round(x1).toLocaleString('en')} tokens`, w - 110, h - 12);
  g.strokeStyle = '#1565c0';
  g.lineWidth = 2;
  g.beginPath();
  points.forEach((p, i) => (i === 0 ? g.moveTo(X(p.tokens), Y(p.loss)) : g.lineTo(X(p.tokens), Y(p.loss))));
  g.stroke();
}
