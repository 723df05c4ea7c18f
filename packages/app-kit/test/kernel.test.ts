import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, MetricTable, serveMetrics, withinBound } from '../src/index.js';

describe('MetricTable', () => {
  it('keeps each table on a registry of its own and renders Prometheus text', async () => {
    const definitions = {
      app_calls_total: { type: 'counter', help: 'Calls', labels: ['status'] },
      app_held: { type: 'gauge', help: 'Held' },
      app_idle_total: { type: 'counter', help: 'Nothing yet' },
    } as const;
    const a = new MetricTable(definitions);
    const b = new MetricTable(definitions);
    a.inc('app_calls_total', { status: '2xx' });
    a.inc('app_calls_total', { status: '2xx' }, 2);
    let held = 0;
    a.addCollector(() => a.set('app_held', ++held));
    expect([a.get('app_calls_total', { status: '2xx' }), b.get('app_calls_total', { status: '2xx' })]).toEqual([3, 0]);
    const text = await a.render();
    expect(text).toContain('# TYPE app_calls_total counter');
    expect(text).toContain('app_calls_total{status="2xx"} 3');
    expect(text).toContain('app_held 1');
    expect(text).toContain('app_idle_total 0');
    expect(await b.render()).not.toContain('app_calls_total{status="2xx"}');
    expect(() => a.set('app_calls_total', 1)).toThrow(/only goes up/);
    expect(() => a.inc('app_calls_total', { colour: 'red' })).toThrow();
  });

  it('serves the text over HTTP', async () => {
    const table = new MetricTable({ app_up: { type: 'gauge', help: 'Up' } });
    table.set('app_up', 1);
    const { server, port } = await serveMetrics(() => table.render(), '127.0.0.1', 0);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect([res.status, await res.text()]).toEqual([200, expect.stringContaining('app_up 1')]);
      expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('logger', () => {
  it('censors tokens, numbers, SIP addresses and credentials wherever they are', () => {
    let written = '';
    const sink = new Writable({ write: (chunk: Buffer, _enc, done) => ((written += chunk.toString()), done()) });
    createLogger('info', 'test', sink).info(
      { token: 't1', binding: { token: 't2' }, from: 'sip:a@b', call: { from: { number: '+1555' } }, callId: 'c1' },
      'push',
    );
    const line = JSON.parse(written) as Record<string, unknown>;
    expect(line).toMatchObject({
      service: 'test',
      token: '[redacted]',
      binding: { token: '[redacted]' },
      from: '[redacted]',
      call: { from: { number: '[redacted]' } },
      callId: 'c1',
    });
  });
});

describe('withinBound', () => {
  it('tells whether the work finished before the bound, and never rejects', async () => {
    expect(await withinBound(Promise.resolve(), 1000)).toBe(true);
    expect(await withinBound(Promise.reject(new Error('x')), 1000)).toBe(true);
    expect(await withinBound(new Promise(() => {}), 10)).toBe(false);
  });
});
