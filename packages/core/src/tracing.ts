import {
  context,
  propagation,
  type ProxyTracerProvider,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import type { DeliveryOutcome, Provider } from './model.js';

/** The instrumentation scope of every span pushrelay's libraries make. */
export const TRACER_NAME = '@pushrelay/core';

/**
 * The tracer of the registered OpenTelemetry SDK, or undefined when none is registered. The
 * api's own no-op tracer still builds a span object per call; callers on the hot path ask this
 * first and, when it is undefined, build nothing at all.
 */
export function activeTracer(): Tracer | undefined {
  const provider = trace.getTracerProvider() as Partial<Pick<ProxyTracerProvider, 'getDelegateTracer'>> &
    ReturnType<typeof trace.getTracerProvider>;
  // The global is the api's proxy (of whichever copy of the api registered it, hence no
  // instanceof): without an SDK behind it there is no delegate.
  if (typeof provider.getDelegateTracer === 'function') return provider.getDelegateTracer(TRACER_NAME);
  return provider.getTracer(TRACER_NAME);
}

/** A W3C trace context (`traceparent`, `tracestate`) as it travels in a queued job. */
type TraceCarrier = Record<string, string>;

/** The context a carrier names, as the parent of what runs next; the active context when there is none. */
export function contextFrom(carrier: TraceCarrier | undefined): Context {
  return carrier ? propagation.extract(ROOT_CONTEXT, carrier) : context.active();
}

/** The carrier of a span's context, to put in a job or a request. */
export function carrierOf(span: Span, parent: Context = context.active()): TraceCarrier | undefined {
  const carrier: TraceCarrier = {};
  propagation.inject(trace.setSpan(parent, span), carrier);
  return carrier.traceparent ? carrier : undefined;
}

/**
 * Runs `work` inside a new span that ends when it settles. A thrown error marks the span and
 * is thrown again. With no SDK registered, `work` runs as it is and no span is made.
 */
export async function withSpan<T>(
  name: string,
  options: { kind: SpanKind; attributes?: Record<string, string | number | boolean>; parent?: Context },
  work: (span: Span | undefined) => Promise<T>,
): Promise<T> {
  const tracer = activeTracer();
  if (!tracer) return work(undefined);
  const parent = options.parent ?? context.active();
  const span = tracer.startSpan(
    name,
    options.attributes ? { kind: options.kind, attributes: options.attributes } : { kind: options.kind },
    parent,
  );
  try {
    return await context.with(trace.setSpan(parent, span), () => work(span));
  } catch (error) {
    if (span.isRecording()) {
      span.recordException(error instanceof Error ? error : String(error));
      span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
    }
    throw error;
  } finally {
    span.end();
  }
}

/**
 * One provider request (one HTTP/2 stream, or a few when the provider refused it unprocessed):
 * a client span named after the provider, with the app and the outcome, never the token. A
 * transport calls it around the request it makes, once `activeTracer()` said tracing is on;
 * `send` gets the span to add what only it knows, such as the HTTP status. A request for many
 * tokens (HMS) gives one outcome per token: the span counts them.
 */
export function traceProviderRequest<T extends DeliveryOutcome | readonly DeliveryOutcome[]>(
  provider: Provider,
  app: string,
  send: (span: Span | undefined) => Promise<T>,
): Promise<T> {
  return withSpan(
    `${provider} send`,
    { kind: SpanKind.CLIENT, attributes: { 'pushrelay.provider': provider, 'pushrelay.app': app } },
    async (span) => {
      const result = await send(span);
      if (span?.isRecording()) {
        if (!isOutcomeList(result)) recordOutcome(span, result);
        else {
          span.setAttribute('pushrelay.tokens', result.length);
          if (result.length === 1) recordOutcome(span, result[0]!);
          else span.setAttribute('pushrelay.delivered', result.filter((o) => o.kind === 'delivered').length);
        }
      }
      return result;
    },
  );
}

function isOutcomeList(result: DeliveryOutcome | readonly DeliveryOutcome[]): result is readonly DeliveryOutcome[] {
  return Array.isArray(result);
}

/** Sets an attribute on the span of the running work, when there is one and it records. */
export function setActiveSpanAttribute(key: string, value: string | number | boolean): void {
  const span = trace.getActiveSpan();
  if (span?.isRecording()) span.setAttribute(key, value);
}

/** What a delivery outcome says, on a span: its kind, the provider's id and the reason for anything else. */
function recordOutcome(span: Span, outcome: DeliveryOutcome): void {
  span.setAttribute('pushrelay.outcome', outcome.kind);
  if (outcome.kind === 'delivered') {
    if (outcome.providerId !== undefined) span.setAttribute('pushrelay.provider.message_id', outcome.providerId);
    return;
  }
  span.setAttribute('pushrelay.outcome.reason', outcome.reason);
  span.setStatus({ code: SpanStatusCode.ERROR, message: `${outcome.kind}: ${outcome.reason}` });
}
