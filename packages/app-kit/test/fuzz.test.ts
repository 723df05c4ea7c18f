import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  applyEnvOverrides,
  ConfigError,
  ConfigReader,
  readEphemeral,
  readQueue,
  readStore,
  resolveSecretRefs,
} from '../src/index.js';

/** Engine sections as an operator might misspell them, and anything at all. */
const section = fc.oneof(
  fc.anything(),
  fc.constantFrom('memory', 'postgres://u@127.0.0.1/test', 'redis://127.0.0.1:6379', 'sqlite', ''),
  fc.record(
    {
      engine: fc.oneof(fc.constantFrom('memory', 'postgres', 'sqlite', 'redis', 'bullmq'), fc.string()),
      kind: fc.oneof(fc.constantFrom('memory', 'postgres', 'sqlite'), fc.string()),
      url: fc.oneof(
        fc.constantFrom('postgres://u@127.0.0.1/test', 'redis://127.0.0.1:6379'),
        fc.string(),
        fc.anything(),
      ),
      redis: fc.anything(),
      prefix: fc.anything(),
      path: fc.anything(),
      poolSize: fc.oneof(fc.integer(), fc.anything()),
      schema: fc.anything(),
    },
    { requiredKeys: [] },
  ),
);

/** Runs `read` like a loader does: problems are collected, then thrown as one ConfigError. */
function load(read: (r: ConfigReader) => unknown): void {
  const r = new ConfigReader();
  try {
    read(r);
    r.finish('fuzz');
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    expect(error.issues.length).toBeGreaterThan(0);
  }
}

describe('config loaders on arbitrary input', () => {
  it('engine sections (store, queue, ephemeral) throw nothing but ConfigError', () => {
    fc.assert(
      fc.property(section, section, section, (store, queue, ephemeral) => {
        load((r) => readStore(r, store, { shortcuts: true }));
        load((r) => readQueue(r, queue, { shortcuts: true }));
        load((r) => readEphemeral(r, ephemeral, { shortcuts: true }));
      }),
      { numRuns: 2000 },
    );
    // Generous: a loaded machine may take several times the usual second.
  }, 60_000);

  it('environment overrides and secret references throw nothing but ConfigError', () => {
    const env = fc.dictionary(
      fc.oneof(
        fc.constantFrom(
          'PUSHRELAY_STORE',
          'PUSHRELAY_QUEUE',
          'PUSHRELAY_LISTEN__PORT',
          'PUSHRELAY_LOG_LEVEL',
          'SECRET',
        ),
        fc.string().map((s) => `PUSHRELAY_${s}`),
      ),
      fc.string(),
      { maxKeys: 5 },
    );
    const refs = fc.oneof(
      fc.anything(),
      fc.record({
        password: fc.oneof(fc.constantFrom('env:SECRET', 'env:', 'file:', 'file:/nonexistent'), fc.anything()),
      }),
      fc.record({ key: fc.record({ env: fc.anything(), file: fc.anything() }, { requiredKeys: [] }) }),
    );
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.anything(), { maxKeys: 4 }), env, refs, (input, vars, secrets) => {
        try {
          applyEnvOverrides(input, vars, { settings: ['store', 'queue', 'ephemeral', 'listen', 'log'] });
        } catch (error) {
          if (!(error instanceof ConfigError)) throw error;
        }
        load((r) =>
          resolveSecretRefs(secrets, 'root', { env: vars, baseDir: '/nonexistent', fail: (p, m) => r.fail(p, m) }),
        );
      }),
      { numRuns: 2000 },
    );
    // Generous: a loaded machine may take several times the usual second.
  }, 60_000);
});
