import { countOf, type Summary } from './summary.js';

/**
 * The report's charts as inline SVG, drawn on the server: they show where scripts are
 * blocked (Jenkins' HTML publisher, mail clients, strict CSPs). Every text is escaped by
 * the caller's `esc`; numbers are formatted here.
 */

type Esc = (text: string) => string;

const W = 640;
const H = 180;
const PAD = 24;
const COLORS: Record<string, string> = {
  passed: '#2e7d32',
  failed: '#c62828',
  error: '#ef6c00',
  skipped: '#757575',
  missing: '#6a1b9a',
};

interface Bar {
  label: string;
  value: number;
  color?: string;
}

const n1 = (v: number) => Number(v.toFixed(1));

export function barsSvg(items: Bar[], esc: Esc, unit = '', name = ''): string {
  const max = Math.max(1, ...items.map((i) => i.value));
  const w = (W - PAD) / Math.max(1, items.length);
  const parts = items.map((it, i) => {
    const h = Math.round((it.value / max) * H);
    const x = n1(PAD + i * w + 1);
    const rect = `<rect x="${x}" y="${H - h + 10}" width="${n1(Math.max(1, w - 2))}" height="${h}" fill="${it.color ?? '#1565c0'}"><title>${esc(`${it.label}: ${it.value}${unit}`)}</title></rect>`;
    const text =
      items.length <= 12
        ? `<text x="${n1(PAD + i * w + w / 2)}" y="${H + 28}" text-anchor="middle">${esc(`${it.label} ${it.value}`)}</text>`
        : '';
    return rect + text;
  });
  return `<svg class="chart" role="img" aria-label="${esc(name)}" viewBox="0 0 ${W} ${H + 40}" xmlns="http://www.w3.org/2000/svg">${parts.join('')}</svg>`;
}

export function lineSvg(values: number[], caption: string, esc: Esc, name = ''): string {
  const max = Math.max(1, ...values);
  const pts = values.map(
    (v, i) =>
      `${((i / Math.max(1, values.length - 1)) * (W - 10) + 5).toFixed(1)},${(H - (v / max) * H + 10).toFixed(1)}`,
  );
  return `<svg class="chart" role="img" aria-label="${esc(name)}" viewBox="0 0 ${W} ${H + 20}" xmlns="http://www.w3.org/2000/svg"><polyline points="${pts.join(' ')}" fill="none" stroke="#1565c0" stroke-width="2"></polyline><text x="5" y="14">${esc(caption.replace('{max}', String(max)))}</text></svg>`;
}

/** The three charts of the report, in order: pass/fail, latency histogram, throughput. */
export function charts(s: Summary, esc: Esc): { status: string; latency: string; throughput: string } {
  const statuses = ['passed', 'failed', 'error', 'skipped', 'missing'] as const;
  const status = barsSvg(
    statuses.map((k) => ({ label: k, value: s.counts[countOf(k)], color: COLORS[k] })),
    esc,
    '',
    'tests by status',
  );
  const latency = barsSvg(
    s.histogram.counts.map((c, i) => ({ label: `<= ${s.histogram.bounds[i]} ms`, value: c })),
    esc,
    ' tests',
    'latency histogram',
  );
  const t = s.timeline;
  const throughput =
    t.finished.length > 1
      ? lineSvg(t.finished, `peak {max} tests per ${t.sliceMs} ms`, esc, 'tests finished over time')
      : '<p>Not enough timing data for a timeline.</p>';
  return { status, latency, throughput };
}
