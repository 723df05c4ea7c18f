import { h, svg } from './dom.js';
import type { Percentiles, Stats } from './types.js';

const COLORS: Record<string, string> = {
  delivered: '#2e7d32',
  retry: '#f9a825',
  'invalid-token': '#6a1b9a',
  rejected: '#c62828',
  'auth-failed': '#ad1457',
  expired: '#616161',
};

/** One small stacked-bar chart per provider: outcomes per minute over the window. */
export function outcomesChart(stats: Stats, now: number): HTMLElement {
  const minuteMs = 60_000;
  const last = now - (now % minuteMs);
  const minutes = Array.from(
    { length: stats.windowMinutes },
    (_, i) => last - (stats.windowMinutes - 1 - i) * minuteMs,
  );
  const providers = [...new Set(stats.outcomes.map((o) => o.provider))].sort();
  if (providers.length === 0) return h('p', { class: 'muted' }, 'No pushes in the last minutes.');
  const legend = new Set<string>();
  const charts = providers.map((provider) => {
    const rows = minutes.map(
      (m) => stats.outcomes.find((o) => o.provider === provider && o.minute === m)?.outcomes ?? {},
    );
    const max = Math.max(1, ...rows.map((r) => Object.values(r).reduce((a, b) => a + b, 0)));
    const width = 300;
    const height = 80;
    const bar = width / minutes.length;
    const bars: SVGElement[] = [];
    let total = 0;
    rows.forEach((r, i) => {
      let y = height;
      for (const [outcome, n] of Object.entries(r)) {
        legend.add(outcome);
        total += n;
        const barHeight = (n / max) * (height - 4);
        y -= barHeight;
        bars.push(
          svg(
            'rect',
            { x: i * bar + 1, y, width: bar - 2, height: barHeight, fill: COLORS[outcome] ?? '#1565c0' },
            svg('title', {}, `${new Date(minutes[i]!).toLocaleTimeString()}: ${n} ${outcome}`),
          ),
        );
      }
    });
    const chart = svg(
      'svg',
      {
        viewBox: `0 0 ${width} ${height}`,
        role: 'img',
        'aria-label': `${provider}: ${total} outcomes in ${stats.windowMinutes} minutes`,
      },
      ...bars,
    );
    return h(
      'figure',
      { class: 'chart', 'data-provider': provider },
      chart,
      h('figcaption', {}, `${provider} · ${total} in ${stats.windowMinutes} min`),
    );
  });
  return h(
    'div',
    {},
    h('div', { class: 'charts' }, charts),
    h(
      'ul',
      { class: 'legend' },
      [...legend].map((o) =>
        h('li', {}, h('span', { class: 'swatch', style: `background:${COLORS[o] ?? '#1565c0'}` }), o),
      ),
    ),
  );
}

const ms = (v: number | null) => (v === null ? '—' : `${Math.round(v)} ms`);

/** Latency percentiles as a small table with proportional bars. */
export function latencyTable(stats: Stats): HTMLElement {
  const rows: [string, Percentiles][] = [
    ['end to end', stats.latency.endToEnd],
    ['provider request', stats.latency.provider],
  ];
  const max = Math.max(1, ...rows.flatMap(([, p]) => [p.p50 ?? 0, p.p90 ?? 0, p.p99 ?? 0]));
  const cell = (v: number | null) =>
    h('td', {}, h('span', { class: 'meter', style: `width:${v === null ? 0 : Math.max(2, (v / max) * 100)}%` }), ms(v));
  return h(
    'table',
    { class: 'latency' },
    h('caption', {}, `Latency percentiles (${stats.latency.samples} latest attempts)`),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', { scope: 'col' }, ''),
        h('th', { scope: 'col' }, 'p50'),
        h('th', { scope: 'col' }, 'p90'),
        h('th', { scope: 'col' }, 'p99'),
      ),
    ),
    h(
      'tbody',
      {},
      rows.map(([name, p]) => h('tr', {}, h('th', { scope: 'row' }, name), cell(p.p50), cell(p.p90), cell(p.p99))),
    ),
  );
}

/** The queue depth over the console's recent polls. */
export function queueSparkline(history: number[]): HTMLElement {
  const width = 300;
  const height = 50;
  const max = Math.max(1, ...history);
  const step = history.length > 1 ? width / (history.length - 1) : width;
  const points = history
    .map((v, i) => `${(i * step).toFixed(1)},${(height - 2 - (v / max) * (height - 4)).toFixed(1)}`)
    .join(' ');
  const current = history.at(-1);
  return h(
    'figure',
    { class: 'chart queue' },
    svg(
      'svg',
      {
        viewBox: `0 0 ${width} ${height}`,
        preserveAspectRatio: 'none',
        role: 'img',
        'aria-label': `queue depth ${current ?? 'unknown'}`,
      },
      svg('polyline', { points, fill: 'none', stroke: '#1565c0', 'stroke-width': 2 }),
    ),
    h('figcaption', {}, `queue depth: ${current ?? '—'} (max ${max} over ${history.length} samples)`),
  );
}
