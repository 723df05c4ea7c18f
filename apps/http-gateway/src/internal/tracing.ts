import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
  type Span,
} from '@opentelemetry/api';
import { activeTracer } from '@pushrelay/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';

/**
 * A server span per request, the child of the client's W3C `traceparent` when it sends one.
 * The hooks are added only when an OpenTelemetry SDK is registered as the server is built, so
 * a gateway without tracing runs no hook at all. The span names the route template, never the
 * path or query as sent (a query may carry an API key).
 */
export function traceRequests(app: FastifyInstance): void {
  const tracer = activeTracer();
  if (!tracer) return;
  const spans = new WeakMap<FastifyRequest, { span: Span; context: Context }>();
  app.addHook('onRequest', (request, _reply, done) => {
    const parent = propagation.extract(ROOT_CONTEXT, request.headers);
    const route = request.routeOptions.url;
    const span = tracer.startSpan(
      route ? `${request.method} ${route}` : request.method,
      {
        kind: SpanKind.SERVER,
        attributes: {
          'http.request.method': request.method,
          ...(route ? { 'http.route': route } : {}),
          'pushrelay.request.id': request.id,
        },
      },
      parent,
    );
    spans.set(request, { span, context: trace.setSpan(parent, span) });
    done();
  });
  // The body is read outside the request's async context: the handler is entered in the
  // span's context here, after parsing, so the relay's spans become its children.
  app.addHook('preHandler', (request, _reply, done) => {
    const traced = spans.get(request);
    if (traced) context.with(traced.context, done);
    else done();
  });
  const end = (request: FastifyRequest, status: number | undefined) => {
    const traced = spans.get(request);
    if (!traced) return;
    spans.delete(request);
    const { span } = traced;
    if (span.isRecording()) {
      if (request.tenant) span.setAttribute('pushrelay.tenant', request.tenant.id);
      if (status !== undefined) {
        span.setAttribute('http.response.status_code', status);
        if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      } else {
        span.setStatus({ code: SpanStatusCode.ERROR, message: 'the client went away before the answer' });
      }
    }
    span.end();
  };
  app.addHook('onResponse', (request, reply, done) => {
    end(request, reply.statusCode);
    done();
  });
  app.addHook('onRequestAbort', (request, done) => {
    end(request, undefined);
    done();
  });
}
