import { context, propagation, trace } from '@opentelemetry/api';
import type { SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-node';

export interface TracingOptions {
  /** `service.name` of the spans, unless OTEL_SERVICE_NAME (or OTEL_RESOURCE_ATTRIBUTES) names one. */
  serviceName: string;
  /** Where the OTEL_* settings are read. Default process.env. */
  env?: NodeJS.ProcessEnv;
  /**
   * Sends every span to this exporter as it ends, whatever OTEL_TRACES_EXPORTER says, and turns
   * tracing on (tests: an InMemorySpanExporter).
   */
  exporter?: SpanExporter;
}

export interface Tracing {
  /** Sends the spans still buffered and unregisters the SDK. */
  shutdown(): Promise<void>;
}

/**
 * Whether the OTEL_* settings ask for traces: an exporter other than `none` in
 * OTEL_TRACES_EXPORTER, or an OTLP endpoint; never while OTEL_SDK_DISABLED is true.
 */
export function tracingWanted(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env['OTEL_SDK_DISABLED']?.trim().toLowerCase() === 'true') return false;
  const exporters = exporterNames(env);
  if (exporters !== undefined) return exporters.length > 0;
  return Boolean(env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'] || env['OTEL_EXPORTER_OTLP_ENDPOINT']);
}

/**
 * Starts the OpenTelemetry SDK when the OTEL_* settings ask for traces (see `tracingWanted`), and
 * resolves to undefined, having loaded nothing, when they do not: the libraries then build no
 * span. The SDK is imported only here, so a process without tracing never loads it.
 * Throws an Error naming the setting for an exporter it does not know.
 */
export async function startTracing(options: TracingOptions): Promise<Tracing | undefined> {
  const env = options.env ?? process.env;
  if (!options.exporter && !tracingWanted(env)) return undefined;
  const sdk = await import('@opentelemetry/sdk-trace-node');
  const processors: SpanProcessor[] = [];
  if (options.exporter) {
    processors.push(new sdk.SimpleSpanProcessor(options.exporter));
  } else {
    for (const name of exporterNames(env) ?? ['otlp']) {
      if (name === 'otlp') {
        // The OTLP/HTTP exporter reads OTEL_EXPORTER_OTLP_* (endpoint, headers, timeout) itself.
        const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
        processors.push(new sdk.BatchSpanProcessor(new OTLPTraceExporter()));
      } else if (name === 'console') {
        processors.push(new sdk.SimpleSpanProcessor(new sdk.ConsoleSpanExporter()));
      } else {
        throw new Error(`OTEL_TRACES_EXPORTER: "${name}" is not one of otlp, console, none`);
      }
    }
  }
  const { defaultResource, detectResources, envDetector, resourceFromAttributes } =
    await import('@opentelemetry/resources');
  const resource = defaultResource()
    .merge(resourceFromAttributes({ 'service.name': options.serviceName }))
    .merge(detectResources({ detectors: [envDetector] }));
  const provider = new sdk.NodeTracerProvider({ resource, spanProcessors: processors });
  // Also installs the AsyncLocalStorage context manager and the W3C trace context propagator.
  provider.register();
  return {
    async shutdown() {
      try {
        await provider.shutdown();
      } finally {
        trace.disable();
        context.disable();
        propagation.disable();
      }
    },
  };
}

/** The exporters OTEL_TRACES_EXPORTER names (without `none`), or undefined when it is not set. */
function exporterNames(env: NodeJS.ProcessEnv): string[] | undefined {
  const value = env['OTEL_TRACES_EXPORTER']?.trim();
  if (!value) return undefined;
  return value
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== '' && s !== 'none');
}
