import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BRIDGE_METRICS, Metrics } from '../src/internal/metrics.js';

const readme = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '../README.md'), 'utf8');

describe('the bridge metrics', () => {
  it('are each in the README with their labels', () => {
    for (const [name, d] of Object.entries(BRIDGE_METRICS)) {
      const labels = 'labels' in d ? d.labels : [];
      expect(readme, name).toContain(`| \`${name}${labels.length ? `{${labels.join(',')}}` : ''}\` |`);
    }
  });

  it('come with the default process metrics under their standard names', async () => {
    const metrics = new Metrics();
    metrics.inc('sip_bridge_pushes_total', { type: 'incoming_call' });
    const text = await metrics.render();
    expect(text).toMatch(/^# TYPE process_cpu_seconds_total counter/m);
    expect(text).toMatch(/^# TYPE nodejs_eventloop_lag_seconds gauge/m);
    expect(text).toContain('sip_bridge_pushes_total{type="incoming_call"} 1');
  });
});
