import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { activeTracer } from '@pushrelay/core';
import { getHeader, type ServerTransaction, type SipRequest } from '@pushrelay/sip';

const TRACED_METHODS = new Set(['INVITE', 'REGISTER']);

/**
 * Runs the handler of an INVITE or REGISTER server transaction inside a server span, so that
 * the push it triggers (the relay's spans) is its child. The span ends with the transaction's
 * final response (or the handler's error), with that response's status. Its attributes are the
 * method, the Call-ID and that status: never a header that carries credentials. Without an
 * OpenTelemetry SDK the handler runs as it is.
 */
export function traceTransaction(
  request: SipRequest,
  tx: ServerTransaction,
  handle: () => Promise<void> | void,
): Promise<void> | void {
  if (!TRACED_METHODS.has(request.method)) return handle();
  const tracer = activeTracer();
  if (!tracer) return handle();
  const callId = getHeader(request, 'call-id');
  const span = tracer.startSpan(`SIP ${request.method}`, {
    kind: SpanKind.SERVER,
    attributes: { 'sip.method': request.method, ...(callId !== undefined ? { 'sip.call_id': callId } : {}) },
  });
  let ended = false;
  const end = (error?: unknown) => {
    if (ended) return;
    ended = true;
    if (span.isRecording()) {
      const status = tx.lastResponse?.status;
      if (status !== undefined) {
        span.setAttribute('sip.response.status_code', status);
        if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      }
      if (error !== undefined) {
        span.recordException(error instanceof Error ? error : String(error));
        span.setStatus({ code: SpanStatusCode.ERROR });
      }
    }
    span.end();
  };
  // An INVITE handler returns once it has sent 100 Trying and queued the push; the transaction
  // (and its span) lasts until the final response, whoever sends it.
  const respond = tx.respond.bind(tx);
  tx.respond = (response) => {
    respond(response);
    if (response.status >= 200) end();
  };
  return (async () => {
    try {
      await context.with(trace.setSpan(context.active(), span), handle);
    } catch (error) {
      end(error);
      throw error;
    }
  })();
}
