import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

export type Labels = Record<string, string>;

export interface MetricDefinition {
  type: 'counter' | 'gauge';
  help: string;
  /** Every label the series is ever given. */
  labels?: readonly string[];
}

export interface ProcessRegistryOptions {
  /** Prefix of the process metrics (CPU, memory, event loop); omitted: none are collected. */
  processPrefix?: string;
}

/**
 * One prom-client registry per process (and per app in a test process), never the global one,
 * so two gateways or bridges in one process never share a series.
 */
export function createProcessRegistry(options: ProcessRegistryOptions = {}): Registry {
  const registry = new Registry();
  if (options.processPrefix !== undefined) collectDefaultMetrics({ register: registry, prefix: options.processPrefix });
  return registry;
}

/**
 * Counters and gauges named by a table, on a prom-client registry of their own. `get` reads a
 * value back at once (prom-client reads are asynchronous), for in-process checks and tests.
 */
export class MetricTable<Name extends string = string> {
  readonly registry: Registry;
  private readonly metrics = new Map<string, Counter<string> | Gauge<string>>();
  private readonly values = new Map<string, Map<string, number>>();
  private readonly collectors: Array<() => void> = [];

  constructor(definitions: Record<Name, MetricDefinition>, registry: Registry = createProcessRegistry()) {
    this.registry = registry;
    for (const [name, d] of Object.entries(definitions) as [string, MetricDefinition][]) {
      const config = { name, help: d.help, labelNames: [...(d.labels ?? [])], registers: [registry] };
      this.metrics.set(name, d.type === 'counter' ? new Counter(config) : new Gauge(config));
      this.values.set(name, new Map());
    }
  }

  /** `collect` runs before each render, to set gauges read from live objects (transaction counts...). */
  addCollector(collect: () => void): void {
    this.collectors.push(collect);
  }

  inc(name: Name, labels: Labels = {}, by = 1): void {
    const metric = this.metric(name);
    if (metric instanceof Counter) metric.inc(labels, by);
    else metric.inc(labels, by);
    const key = labelKey(labels);
    const values = this.values.get(name)!;
    values.set(key, (values.get(key) ?? 0) + by);
  }

  set(name: Name, value: number, labels: Labels = {}): void {
    const metric = this.metric(name);
    if (!(metric instanceof Gauge)) throw new Error(`${name} is a counter: it only goes up`);
    metric.set(labels, value);
    this.values.get(name)!.set(labelKey(labels), value);
  }

  get(name: Name, labels: Labels = {}): number {
    return this.values.get(name)?.get(labelKey(labels)) ?? 0;
  }

  /** The Prometheus text exposition of every series. */
  async render(): Promise<string> {
    for (const collect of this.collectors) collect();
    return this.registry.metrics();
  }

  private metric(name: string): Counter<string> | Gauge<string> {
    const metric = this.metrics.get(name);
    if (!metric) throw new Error(`unknown metric ${name}`);
    return metric;
  }
}

function labelKey(labels: Labels): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)));
}

/** Serves GET /metrics (and /healthz) from a registry; resolves with the bound port. */
export async function serveMetrics(
  render: () => Promise<string>,
  host: string,
  port: number,
  contentType: string = new Registry().contentType,
): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    if (req.method === 'GET' && (req.url === '/metrics' || req.url?.startsWith('/metrics?'))) {
      render().then(
        (text) => res.writeHead(200, { 'content-type': contentType }).end(text),
        () => res.writeHead(500).end(),
      );
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
