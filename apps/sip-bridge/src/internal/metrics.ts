import { createServer, type Server } from 'node:http';

type Labels = Record<string, string>;

interface Series {
  help: string;
  type: 'counter' | 'gauge';
  values: Map<string, number>;
}

/** A handful of counters and gauges in the Prometheus text format; no client library needed. */
export class Metrics {
  private readonly series = new Map<string, Series>();

  constructor() {
    this.define(
      'sip_bridge_registrations_total',
      'counter',
      'Successful REGISTERs, by result (registered, unregistered)',
    );
    this.define('sip_bridge_register_rejections_total', 'counter', 'REGISTERs refused, by status');
    this.define('sip_bridge_push_bindings', 'gauge', 'Devices reachable by push');
    this.define('sip_bridge_held_invites', 'gauge', 'INVITEs held for a pushed device to re-register');
    this.define('sip_bridge_pushes_total', 'counter', 'Notifications handed to the relay, by type');
    this.define('sip_bridge_push_deliveries_total', 'counter', 'Push attempts by provider outcome');
    this.define(
      'sip_bridge_forwarded_invites_total',
      'counter',
      'INVITEs forwarded to a device, by reason (direct, re-register)',
    );
    this.define('sip_bridge_calls_total', 'counter', 'Calls ended, by final status class');
    this.define('sip_bridge_unavailable_total', 'counter', '480 Temporarily Unavailable sent after the wait');
    this.define(
      'sip_bridge_location_events_total',
      'counter',
      'Registrations replicated between bridge processes, by direction and kind (register, unregister, invalid, stale)',
    );
    // Edge mode.
    this.define(
      'sip_bridge_edge_forwarded_total',
      'counter',
      'Requests forwarded statefully in edge mode, by direction (upstream, device) and method',
    );
    this.define(
      'sip_bridge_edge_upstream_timeouts_total',
      'counter',
      'Forwarded requests answered 408: no answer in time',
    );
    this.define(
      'sip_bridge_edge_loops_total',
      'counter',
      'Requests refused with 482: a Via or Path loop through the bridge',
    );
    this.define(
      'sip_bridge_wake_pushes_total',
      'counter',
      'Re-register pushes before an upstream binding expires, by outcome (sent, no-silent-push)',
    );
    this.define(
      'sip_bridge_wake_missed_total',
      'counter',
      'Push phones that did not re-register before their upstream binding expired',
    );
  }

  private define(name: string, type: Series['type'], help: string): void {
    this.series.set(name, { help, type, values: new Map() });
  }

  inc(name: string, labels: Labels = {}, by = 1): void {
    const series = this.series.get(name);
    if (!series) throw new Error(`unknown metric ${name}`);
    const key = labelKey(labels);
    series.values.set(key, (series.values.get(key) ?? 0) + by);
  }

  set(name: string, value: number, labels: Labels = {}): void {
    const series = this.series.get(name);
    if (!series) throw new Error(`unknown metric ${name}`);
    series.values.set(labelKey(labels), value);
  }

  get(name: string, labels: Labels = {}): number {
    return this.series.get(name)?.values.get(labelKey(labels)) ?? 0;
  }

  render(): string {
    const lines: string[] = [];
    for (const [name, s] of this.series) {
      lines.push(`# HELP ${name} ${s.help}`, `# TYPE ${name} ${s.type}`);
      if (s.values.size === 0) lines.push(`${name} 0`);
      for (const [key, value] of s.values) lines.push(`${name}${key} ${value}`);
    }
    return `${lines.join('\n')}\n`;
  }
}

function labelKey(labels: Labels): string {
  const entries = Object.entries(labels).sort(([a], [b]) => a.localeCompare(b));
  if (entries.length === 0) return '';
  return `{${entries.map(([k, v]) => `${k}="${v.replace(/["\\\n]/g, '_')}"`).join(',')}}`;
}

/** Serves GET /metrics; resolves with the bound port. */
export async function serveMetrics(
  metrics: Metrics,
  host: string,
  port: number,
): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    if (req.method === 'GET' && (req.url === '/metrics' || req.url?.startsWith('/metrics?'))) {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(metrics.render());
    } else if (req.method === 'GET' && req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  return { server, port: typeof address === 'object' && address ? address.port : port };
}
