import { trace } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { startTracing, tracingWanted } from '../src/index.js';

describe('tracing from the OTEL_* settings', () => {
  it('is wanted for an exporter or an OTLP endpoint, and never with OTEL_SDK_DISABLED', () => {
    expect(tracingWanted({})).toBe(false);
    expect(tracingWanted({ OTEL_TRACES_EXPORTER: 'none' })).toBe(false);
    expect(tracingWanted({ OTEL_TRACES_EXPORTER: 'console' })).toBe(true);
    expect(tracingWanted({ OTEL_TRACES_EXPORTER: ' otlp , none' })).toBe(true);
    expect(tracingWanted({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' })).toBe(true);
    expect(tracingWanted({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4318/v1/traces' })).toBe(true);
    expect(tracingWanted({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' })).toBe(
      false,
    );
    expect(tracingWanted({ OTEL_SDK_DISABLED: 'true', OTEL_TRACES_EXPORTER: 'console' })).toBe(false);
  });

  it('registers nothing when not wanted, and refuses an exporter it does not know', async () => {
    expect(await startTracing({ serviceName: 'x', env: {} })).toBeUndefined();
    expect(trace.getTracerProvider().getTracer('x').startSpan('s').isRecording()).toBe(false);
    await expect(startTracing({ serviceName: 'x', env: { OTEL_TRACES_EXPORTER: 'zipkin' } })).rejects.toThrow(
      'OTEL_TRACES_EXPORTER: "zipkin" is not one of otlp, console, none',
    );
  });

  it('records spans once started, and stops recording after shutdown', async () => {
    const tracing = await startTracing({ serviceName: 'x', env: { OTEL_TRACES_EXPORTER: 'console' } });
    expect(tracing).toBeDefined();
    try {
      expect(trace.getTracer('x').startSpan('s').isRecording()).toBe(true);
    } finally {
      await tracing!.shutdown();
    }
    expect(trace.getTracer('x').startSpan('s').isRecording()).toBe(false);
  });
});
