import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig, redactedConfig, sha256Hex } from '../src/index.js';
import { main } from '../src/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'pushrelay-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const hash = sha256Hex('key-1');

function issuesOf(raw: unknown, env: Record<string, string> = {}): { path: string; message: string }[] {
  try {
    parseConfig(raw, { env, baseDir: dir });
  } catch (error) {
    if (error instanceof ConfigError) return error.issues;
    throw error;
  }
  return [];
}

describe('configuration', () => {
  it('lists every problem with its path at once', () => {
    const issues = issuesOf({
      listen: { port: 70000 },
      store: { kind: 'redis' },
      codecs: ['wazo', 'acme'],
      tenants: [
        { id: 'a b', apiKeySha256: ['nothex'] },
        { apiKeySha256: [hash], webhookSecrets: { kaleyra: 'inline-secret' } },
      ],
      providers: { mpns: {}, fcm: { credentials: [{ serviceAccountFile: 'missing.json' }] } },
      colour: 'blue',
    });
    expect(issues.map((i) => i.path)).toEqual([
      'colour',
      'listen.port',
      'store.kind',
      'codecs[1]',
      'tenants[0].id',
      'tenants[0].apiKeySha256[0]',
      'tenants[1].id',
      'tenants[1].webhookSecrets.kaleyra',
      'providers.mpns',
      'providers.fcm.credentials[0].serviceAccountFile',
    ]);
  });

  it('reads secrets from files and env, applies env overrides, and never prints them', () => {
    writeFileSync(join(dir, 'sa.json'), '{"project_id":"p"}', { mode: 0o600 });
    const config = parseConfig(
      {
        tenants: [
          {
            id: 't1',
            apiKeySha256: [hash],
            webhookSecrets: { kaleyra: { env: 'K_SECRET' } },
            proxyJwtSecret: 'file:sa.json',
          },
        ],
        providers: {
          fcm: { credentials: [{ serviceAccountFile: 'sa.json' }] },
          hms: { credentials: [{ appId: '1', clientSecretEnv: 'HMS_SECRET' }] },
        },
      },
      {
        env: { K_SECRET: 'shh', HMS_SECRET: 'hms-shh', PUSHRELAY_PORT: '9090', PUSHRELAY_STORE: 'data/db.sqlite' },
        baseDir: dir,
      },
    );
    expect(config.listen).toEqual({ host: '127.0.0.1', port: 9090 });
    expect(config.store).toEqual({ kind: 'sqlite', path: join(dir, 'data/db.sqlite') });
    expect(config.tenants[0]!.webhookSecrets).toEqual({ kaleyra: 'shh' });
    expect(config.providers.fcm).toEqual({ credentials: [{ serviceAccount: '{"project_id":"p"}' }] });
    expect(config.providers.hms).toEqual({ credentials: [{ appId: '1', clientSecret: 'hms-shh' }] });
    const printed = JSON.stringify(redactedConfig(config));
    for (const secret of ['shh', 'hms-shh', 'project_id', hash]) expect(printed).not.toContain(secret);
  });

  it('check-config prints every problem and exits 1; a good file exits 0', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'tenants: []\nstore: {kind: sqlite}\n');
    const err: string[] = [];
    expect(
      await main(
        ['check-config', '--config', bad],
        () => {},
        (l) => err.push(l),
      ),
    ).toBe(1);
    expect(err).toEqual([
      'configuration problems:',
      '  store.path: is required for a sqlite store',
      '  tenants: must be a non-empty list',
    ]);

    const good = join(dir, 'good.json');
    writeFileSync(good, JSON.stringify({ store: { kind: 'memory' }, tenants: [{ id: 't', apiKeySha256: [hash] }] }));
    const out: string[] = [];
    expect(await main(['check-config', '--config', good], (l) => out.push(l))).toBe(0);
    expect(out.at(-1)).toBe(
      'configuration is valid: 1 tenant(s), codecs ecss, kaleyra, mizutech, signalwire, wazo, providers none',
    );
  });

  it('check-config reports a transport option the transport refuses, under providers', async () => {
    const file = join(dir, 'apns.json');
    writeFileSync(
      file,
      JSON.stringify({ tenants: [{ id: 't', apiKeySha256: [hash] }], providers: { apns: { apps: [] } } }),
    );
    const err: string[] = [];
    expect(
      await main(
        ['check-config', '--config', file],
        () => {},
        (l) => err.push(l),
      ),
    ).toBe(1);
    expect(err[1]).toMatch(/^ {2}providers\.apns\.apps: /);
  });
});

describe('limits', () => {
  it("bounds each tenant's devices at 100 000 unless the top level or the tenant says otherwise", () => {
    const other = sha256Hex('key-2');
    const tenants = [
      { id: 'a', apiKeySha256: [hash] },
      { id: 'b', apiKeySha256: [other], limits: { maxDevicesPerTenant: 0 } },
    ];
    expect(parseConfig({ tenants }, { env: {} }).tenants.map((t) => t.limits)).toEqual([
      { maxDevicesPerTenant: 100_000 },
      { maxDevicesPerTenant: 0 },
    ]);
    const config = parseConfig(
      { tenants, limits: { maxDevicesPerTenant: 500 } },
      { env: { PUSHRELAY_LIMITS__MAX_DEVICES_PER_TENANT: '600' } },
    );
    expect([config.limits, ...config.tenants.map((t) => t.limits)]).toEqual([
      { maxDevicesPerTenant: 600 },
      { maxDevicesPerTenant: 600 },
      { maxDevicesPerTenant: 0 },
    ]);
    expect(
      issuesOf({
        tenants: [{ ...tenants[0], limits: { maxDevicesPerTenant: -1, devices: 3 } }],
        limits: { maxDevicesPerTenant: 'many' },
      }).map((i) => i.path),
    ).toEqual(['limits.maxDevicesPerTenant', 'tenants[0].limits.devices', 'tenants[0].limits.maxDevicesPerTenant']);
  });
});

describe('engines for several processes', () => {
  const tenants = [{ id: 't', apiKeySha256: [hash] }];

  it('keeps reports 7 days by default; retention settings are checked', () => {
    expect(parseConfig({ tenants }, { env: {} }).retention).toEqual({
      reportsDays: 7,
      sweepIntervalMs: 60_000,
      batchSize: 500,
    });
    expect(
      parseConfig({ tenants, retention: { reportsDays: 30 } }, { env: { PUSHRELAY_RETENTION_DAYS: '2' } }).retention
        .reportsDays,
    ).toBe(2);
    expect(
      issuesOf({ tenants, retention: { reportsDays: 0, batchSize: 'many', purge: true } }).map((i) => i.path),
    ).toEqual(['retention.purge', 'retention.reportsDays', 'retention.batchSize']);
  });

  it('defaults to the embedded engines', () => {
    const config = parseConfig({ tenants }, { env: {} });
    expect({ store: config.store, queue: config.queue, ephemeral: config.ephemeral }).toEqual({
      store: { kind: 'memory' },
      queue: { engine: 'memory' },
      ephemeral: { engine: 'memory' },
    });
  });

  it('reads bullmq, postgres and redis with their defaults', () => {
    const config = parseConfig(
      {
        tenants,
        queue: { engine: 'bullmq', redis: 'redis://127.0.0.1:6379/0', concurrency: 32 },
        store: { engine: 'postgres', url: 'postgres://pushrelay@127.0.0.1:5432/test', schema: 'relay_a' },
        ephemeral: { engine: 'redis', redis: 'redis://127.0.0.1:6379/0', prefix: 'relay-a' },
      },
      { env: {} },
    );
    expect({ store: config.store, queue: config.queue, ephemeral: config.ephemeral }).toEqual({
      store: { kind: 'postgres', url: 'postgres://pushrelay@127.0.0.1:5432/test', schema: 'relay_a', poolSize: 10 },
      queue: {
        engine: 'bullmq',
        redis: 'redis://127.0.0.1:6379/0',
        prefix: 'pushrelay',
        concurrency: 32,
        lockDurationMs: 30_000,
        stalledIntervalMs: 30_000,
        scheduleTimeoutMs: 5000,
        closeGraceMs: 5000,
      },
      ephemeral: { engine: 'redis', redis: 'redis://127.0.0.1:6379/0', prefix: 'relay-a' },
    });
  });

  it('switches engines from the environment alone, keeping the file settings of that engine', () => {
    const config = parseConfig(
      {
        tenants,
        queue: { engine: 'memory', prefix: 'relay-b', concurrency: 8 },
        store: { kind: 'sqlite', path: 'x.db' },
      },
      {
        env: {
          PUSHRELAY_QUEUE: 'redis://127.0.0.1:6379/2',
          PUSHRELAY_STORE: 'postgresql://127.0.0.1/test',
          PUSHRELAY_EPHEMERAL: 'redis://127.0.0.1:6379/2',
        },
      },
    );
    expect(config.queue).toEqual({
      engine: 'bullmq',
      redis: 'redis://127.0.0.1:6379/2',
      prefix: 'relay-b',
      concurrency: 8,
      lockDurationMs: 30_000,
      stalledIntervalMs: 30_000,
      scheduleTimeoutMs: 5000,
      closeGraceMs: 5000,
    });
    expect(config.store).toEqual({
      kind: 'postgres',
      url: 'postgresql://127.0.0.1/test',
      schema: 'pushrelay',
      poolSize: 10,
    });
    expect(config.ephemeral).toEqual({ engine: 'redis', redis: 'redis://127.0.0.1:6379/2', prefix: 'pushrelay' });
  });

  it('lists every problem of the engine blocks with its path', () => {
    const issues = issuesOf({
      tenants,
      queue: {
        engine: 'bullmq',
        redis: 'http://x',
        prefix: 'a b',
        concurrency: 0,
        lockDurationMs: 5,
        scheduleTimeoutMs: 50,
        closeGraceMs: 0,
        colour: 1,
      },
      store: { engine: 'postgres', schema: '1bad' },
      ephemeral: { engine: 'kafka' },
    });
    expect(issues).toEqual([
      { path: 'store.url', message: 'is required for a postgres store (postgres://user@host:5432/db)' },
      {
        path: 'store.schema',
        message: 'must be a plain SQL identifier (letters, digits, _; not starting with a digit)',
      },
      { path: 'queue.colour', message: 'is not a known setting' },
      { path: 'queue.redis', message: 'must be a redis:// or rediss:// URL' },
      { path: 'queue.prefix', message: 'may only hold letters, digits and . _ : { } - (1-100)' },
      { path: 'queue.concurrency', message: 'must be an integer from 1 to 10000' },
      { path: 'queue.lockDurationMs', message: 'must be an integer from 1000 to 600000' },
      { path: 'queue.scheduleTimeoutMs', message: 'must be an integer from 100 to 60000' },
      { path: 'queue.closeGraceMs', message: 'must be an integer from 100 to 120000' },
      { path: 'ephemeral.engine', message: 'must be "memory" or "redis"' },
    ]);
    expect(issuesOf({ tenants, queue: { engine: 'bullmq', redis: 'redis://127.0.0.1:6379/one' } })).toEqual([
      { path: 'queue.redis', message: 'the database must be a number, not "one"' },
    ]);
    expect(issuesOf({ tenants, queue: { engine: 'bullmq' }, ephemeral: 'redis' })).toEqual([
      { path: 'queue.redis', message: 'is required (redis://host:port/db)' },
      { path: 'ephemeral', message: 'must be an object with an engine' },
    ]);
  });

  it('never prints the password of a store or Redis URL', () => {
    const config = parseConfig(
      {
        tenants,
        queue: { engine: 'bullmq', redis: 'redis://:hunter2@127.0.0.1:6379/0' },
        store: {
          engine: 'postgres',
          url: 'postgres://relay:hunter2@127.0.0.1/test?sslpassword=hunter2&application_name=relay',
        },
        ephemeral: { engine: 'redis', redis: 'redis://:hunter2@127.0.0.1:6379/0' },
      },
      { env: {} },
    );
    const printed = JSON.stringify(redactedConfig(config));
    expect(printed).not.toContain('hunter2');
    expect(printed).toContain('127.0.0.1');
  });
});
