import type { GoodputTable } from './goodput';

/**
 * Fixed-width text rendering of the goodput grid, laid out like the paper's table (rows systems,
 * columns total chips, whole percentages), then the uptime grid and one line with every constant, so
 * a printed table can be reproduced exactly.
 */

/** 150000 → "150k", 1200000 → "1.2M". */
function chipLabel(n: number): string {
  if (n >= 1e6) return `${+(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${+(n / 1e3).toFixed(1)}k`;
  return String(n);
}

function pct(x: number | undefined): string {
  return x === undefined ? '-' : `${Math.round(x * 100)}%`;
}

function grid(t: GoodputTable, title: string, cell: (row: GoodputTable['rows'][number], n: number) => number | undefined): string[] {
  const labelW = Math.max(title.length, ...t.rows.map((r) => r.label.length)) + 2;
  const colW = 7;
  const head = title.padEnd(labelW) + t.chips.map((n) => chipLabel(n).padStart(colW)).join('');
  const lines = t.rows.map((r) => r.label.padEnd(labelW) + t.chips.map((n) => pct(cell(r, n)).padStart(colW)).join(''));
  return [head, '-'.repeat(head.length), ...lines];
}

export function formatGoodputTable(t: GoodputTable): string {
  const c = t.constants;
  const years = c.mtbiHours / 8760;
  const constants = Object.entries(c)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  return [
    `Goodput under failures (MTBI ${+years.toFixed(3)} y per chip, ${c.horizonHours} h simulated, seed ${t.seed})`,
    ...grid(t, 'Goodput \\ chips', (r, n) => r.byChips[n]),
    '',
    ...grid(t, 'Uptime \\ chips', (r, n) => r.uptimeByChips[n]),
    '',
    `constants: ${constants}`,
  ].join('\n');
}
