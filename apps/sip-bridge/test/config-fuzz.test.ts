import fc from 'fast-check';
import { describe, it } from 'vitest';
import { ConfigError } from '@pushrelay/app-kit';
import { resolveConfig } from '../src/index.js';

const config = fc.record(
  {
    domain: fc.oneof(fc.constant('example.com'), fc.anything()),
    mode: fc.oneof(fc.constantFrom('registrar', 'edge'), fc.anything()),
    listen: fc.anything(),
    users: fc.oneof(
      fc.anything(),
      fc.array(fc.record({ username: fc.string(), password: fc.anything() }, { requiredKeys: [] }), { maxLength: 3 }),
    ),
    calls: fc.oneof(
      fc.anything(),
      fc.record(
        { ringTimeoutMs: fc.anything(), pushWaitMs: fc.integer(), missedCallTtlMs: fc.anything() },
        { requiredKeys: [] },
      ),
    ),
    limits: fc.oneof(
      fc.anything(),
      fc.record(
        {
          maxHeldCalls: fc.anything(),
          maxEventLoopLagMs: fc.integer(),
          maxOpenTransactions: fc.anything(),
          retryAfterSeconds: fc.integer(),
        },
        { requiredKeys: [] },
      ),
    ),
    trunk: fc.oneof(
      fc.anything(),
      fc.record(
        { uri: fc.oneof(fc.constant('sip:192.0.2.1:5060'), fc.string()), sources: fc.anything() },
        { requiredKeys: [] },
      ),
    ),
    edge: fc.anything(),
    upstream: fc.oneof(
      fc.anything(),
      fc.string().map((s) => `sip:${s}`),
    ),
    tls: fc.anything(),
    store: fc.anything(),
    queue: fc.anything(),
    ephemeral: fc.anything(),
    apns: fc.anything(),
    fcm: fc.anything(),
    registration: fc.anything(),
    digest: fc.anything(),
    auth: fc.anything(),
  },
  { requiredKeys: [] },
);

describe('resolveConfig on arbitrary input', () => {
  it('throws nothing but ConfigError', () => {
    fc.assert(
      fc.property(fc.oneof(config, fc.anything()), (input) => {
        try {
          resolveConfig(input);
        } catch (error) {
          if (!(error instanceof ConfigError)) throw error;
        }
      }),
      { numRuns: 2000 },
    );
    // Generous: a loaded machine may take several times the usual second.
  }, 60_000);
});
