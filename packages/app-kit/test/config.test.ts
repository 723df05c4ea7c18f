import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ValidationError } from '@pushrelay/core';
import {
  ConfigError,
  ConfigReader,
  applyEnvOverrides,
  readConfigFile,
  readEphemeral,
  readQueue,
  readStore,
  redactedEngines,
  resolveSecretRefs,
  type ConfigWarning,
} from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'app-kit-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('ConfigReader', () => {
  it('collects every problem with its path and throws them as one ConfigError, a ValidationError', () => {
    const r = new ConfigReader();
    r.knownKeys({ port: 1, colour: 'blue' }, 'listen', ['port']);
    expect(r.int('70000', 'listen.port', 8080, 0, 65535)).toBe(8080);
    expect(r.int('443', 'listen.tls', 0, 0, 65535)).toBe(443);
    expect(r.string(undefined, 'domain', undefined)).toBe('');
    expect(r.bool('yes', 'listen.udp', true)).toBe(true);
    expect(r.listOf(['apns', 'mpns'], 'push.providers', ['apns', 'fcm'] as const, ['apns'])).toEqual(['apns', 'apns']);
    let thrown: unknown;
    try {
      r.finish('test config');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect(thrown).toBeInstanceOf(ValidationError);
    expect((thrown as ConfigError).code).toBe('config_invalid');
    expect((thrown as ConfigError).issues).toEqual([
      { path: 'listen.colour', message: 'is not a known setting' },
      { path: 'listen.port', message: 'must be an integer from 0 to 65535' },
      { path: 'domain', message: 'is required' },
      { path: 'listen.udp', message: 'must be true or false' },
      { path: 'push.providers[1]', message: 'must be one of apns, fcm' },
    ]);
    expect((thrown as Error).message).toMatch(/^invalid test config: listen\.colour: is not a known setting/);
  });

  it('words an unknown key as the app asks', () => {
    const r = new ConfigReader({ unknownKey: 'is not a known option' });
    r.knownKeys({ extra: 1 }, '', []);
    expect(r.issues).toEqual([{ path: 'extra', message: 'is not a known option' }]);
  });
});

describe('engine sections', () => {
  it('fills the one table of defaults', () => {
    const r = new ConfigReader();
    expect([
      readStore(r, { engine: 'postgres', url: 'postgres://u@127.0.0.1/db' }),
      readQueue(r, { engine: 'bullmq', redis: 'redis://127.0.0.1:6379/0' }),
      readEphemeral(r, { engine: 'redis', redis: 'redis://127.0.0.1:6379/1' }),
      readStore(r, { kind: 'sqlite', path: 'x.db' }, { baseDir: dir }),
      readStore(r, undefined),
    ]).toEqual([
      { engine: 'postgres', url: 'postgres://u@127.0.0.1/db', schema: 'pushrelay', poolSize: 10 },
      {
        engine: 'bullmq',
        redis: 'redis://127.0.0.1:6379/0',
        prefix: 'pushrelay',
        concurrency: 64,
        lockDurationMs: 30_000,
        stalledIntervalMs: 30_000,
        scheduleTimeoutMs: 5000,
        closeGraceMs: 5000,
      },
      { engine: 'redis', redis: 'redis://127.0.0.1:6379/1', prefix: 'pushrelay' },
      { engine: 'sqlite', path: join(dir, 'x.db') },
      { engine: 'memory' },
    ]);
    expect(r.issues).toEqual([]);
  });

  it('names the engines an app offers, and reads strings as shortcuts where asked', () => {
    const r = new ConfigReader();
    readStore(r, { engine: 'sqlite' }, { storeEngines: ['memory', 'postgres'] });
    readStore(r, 'file.db', { storeEngines: ['memory', 'postgres'], shortcuts: true });
    readEphemeral(r, 'redis');
    readEphemeral(r, 'mysql://x', { shortcuts: true });
    readQueue(r, { engine: 'kafka' });
    expect(readQueue(r, 'rediss://cache.example:6380/2', { shortcuts: true })).toMatchObject({ engine: 'bullmq' });
    expect(r.issues).toEqual([
      { path: 'store.engine', message: 'must be "memory" or "postgres"' },
      { path: 'store', message: 'must be "memory", a postgres:// URL or an object with an engine' },
      { path: 'ephemeral', message: 'must be an object with an engine' },
      { path: 'ephemeral', message: 'must be "memory", a redis:// URL or an object with an engine' },
      { path: 'queue.engine', message: 'must be "memory" or "bullmq"' },
    ]);
  });

  it('never prints the password of a URL', () => {
    const redacted = redactedEngines({
      store: { engine: 'postgres', url: 'postgres://u:pw1@h/db?password=pw2&x=1', schema: 's', poolSize: 1 },
      queue: { engine: 'memory' },
      ephemeral: { engine: 'redis', redis: 'redis://:pw3@127.0.0.1:6379/0', prefix: 'p' },
    });
    expect(JSON.stringify(redacted)).not.toMatch(/pw1|pw2|pw3/);
    expect(redacted.store).toMatchObject({ url: 'postgres://u:redacted@h/db?password=redacted&x=1' });
  });
});

describe('environment overrides', () => {
  const settings = ['listen', 'store', 'queue', 'ephemeral', 'logLevel', 'retention'];

  it('applies PUSHRELAY_A__B to the settings of the app only, with aliases and old prefixes', () => {
    const warnings: ConfigWarning[] = [];
    const out = applyEnvOverrides(
      {
        listen: { host: '0.0.0.0' },
        queue: { engine: 'memory', prefix: 'relay-b' },
        store: { engine: 'postgres', url: 'postgres://a/b', schema: 's' },
      },
      {
        PUSHRELAY_LISTEN__PORT: '9090',
        PUSHRELAY_LOG_LEVEL: 'warn',
        PUSHRELAY_QUEUE: 'redis://127.0.0.1:6379/2',
        PUSHRELAY_STORE: 'postgres://c/d',
        PUSHRELAY_RETENTION_DAYS: '2',
        PUSHRELAY_REQUIRE_SERVICES: '1',
        OLD_APP__LISTEN__HOST: '127.0.0.2',
        OTHER: 'x',
      },
      {
        settings,
        aliases: { PUSHRELAY_RETENTION_DAYS: ['retention', 'reportsDays'] },
        legacyPrefixes: ['OLD_APP__'],
        onWarning: (w) => warnings.push(w),
      },
    );
    expect(out).toEqual({
      listen: { host: '127.0.0.2', port: 9090 },
      logLevel: 'warn',
      queue: { engine: 'bullmq', redis: 'redis://127.0.0.1:6379/2', prefix: 'relay-b' },
      store: { engine: 'postgres', url: 'postgres://c/d', schema: 's' },
      retention: { reportsDays: 2 },
    });
    expect(warnings).toEqual([
      {
        path: 'listen.host',
        message: 'OLD_APP__LISTEN__HOST is read for one more release: name it PUSHRELAY_LISTEN__HOST',
      },
    ]);
  });

  it('switching the store to another engine drops the options of the old one', () => {
    const out = applyEnvOverrides(
      { store: { kind: 'sqlite', path: 'x.db' } },
      { PUSHRELAY_STORE: 'postgresql://127.0.0.1/test' },
      { settings },
    );
    expect(out).toEqual({ store: { engine: 'postgres', url: 'postgresql://127.0.0.1/test' } });
  });
});

describe('files and secrets', () => {
  it('reads JSON and YAML, and reports what it cannot read with the file name', () => {
    writeFileSync(join(dir, 'a.yaml'), 'listen:\n  port: 80\n');
    writeFileSync(join(dir, 'b.json'), '{"listen": ');
    writeFileSync(join(dir, 'c.json'), '[1]');
    expect(readConfigFile(join(dir, 'a.yaml'))).toEqual({ listen: { port: 80 } });
    expect(() => readConfigFile(join(dir, 'b.json'))).toThrow(/b\.json is not JSON/);
    expect(() => readConfigFile(join(dir, 'c.json'))).toThrow(/c\.json must hold an object/);
    expect(() => readConfigFile(join(dir, 'missing.json'))).toThrow(ConfigError);
  });

  it('replaces xxxFile and xxxEnv by the content, naming the path of what is missing', () => {
    writeFileSync(join(dir, 'secret.txt'), 's3cret\n');
    const issues: { path: string; message: string }[] = [];
    const out = resolveSecretRefs(
      {
        credentials: [{ clientSecretFile: 'secret.txt', keyFile: 'secret.txt', tokenEnv: 'TOKEN', caFile: 'none.pem' }],
      },
      'providers.hms',
      { env: { TOKEN: 't' }, baseDir: dir, fail: (path, message) => issues.push({ path, message }) },
    );
    expect(out).toEqual({ credentials: [{ clientSecret: 's3cret', key: 's3cret\n', token: 't' }] });
    expect(issues).toEqual([
      { path: 'providers.hms.credentials[0].caFile', message: 'cannot read file none.pem: ENOENT' },
    ]);
  });
});
