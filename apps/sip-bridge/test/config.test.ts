import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '@pushrelay/core';
import {
  applyEnvOverrides,
  createLogger,
  loadConfig,
  redactedConfig,
  resolveConfig,
  startBridge,
} from '../src/index.js';

function issuesOf(fn: () => unknown): { path: string; message: string }[] {
  try {
    fn();
  } catch (error) {
    if (error instanceof ValidationError) return error.issues;
    throw error;
  }
  throw new Error('no error thrown');
}

describe('config', () => {
  it('fills every default from the minimal config', () => {
    expect(resolveConfig({ domain: 'sip.example.com', users: [{ username: 'alice', password: 'pw' }] })).toEqual({
      domain: 'sip.example.com',
      realm: 'sip.example.com',
      tenant: 'default',
      listen: { host: '127.0.0.1', port: 5060, udp: true, tcp: true },
      publicHost: '127.0.0.1',
      users: [{ username: 'alice', password: 'pw' }],
      digest: { algorithms: ['SHA-256', 'MD5'], allowNoQop: false, allowUriMismatch: false, nonceTtlMs: 300_000 },
      registration: { defaultExpires: 3600, minExpires: 60, maxExpires: 7200 },
      calls: { ringTimeoutMs: 30_000, pushWaitMs: 30_000, missedCallTtlMs: 604_800_000 },
      push: {
        providers: ['apns', 'fcm'],
        environment: 'production',
        pnProviders: { apns: 'apns', fcm: 'fcm', webpush: 'webpush' },
      },
      metrics: { host: '127.0.0.1', port: 9464 },
      log: { level: 'info' },
      shutdownTimeoutMs: 5000,
      store: { engine: 'memory' },
      queue: { engine: 'memory' },
      ephemeral: { engine: 'memory' },
      auth: { requests: true, users: 'config', userCacheTtlMs: 30_000 },
      limits: {
        maxServerTransactions: 50_000,
        maxHeldCalls: 2000,
        maxOpenTransactions: 40_000,
        maxEventLoopLagMs: 50,
        retryAfterSeconds: 5,
      },
      mode: 'registrar',
    });
  });

  it('lists every problem with its path', () => {
    expect(
      issuesOf(() =>
        resolveConfig({
          users: [{ username: 'alice' }, { username: 'alice', password: 'x', role: 'admin' }],
          listen: { port: 70000 },
          calls: { ringTimeoutMs: 5000, pushWaitMs: 9000 },
          push: { providers: ['apns', 'mqtt'] },
          log: { level: 'loud' },
          colour: 'blue',
        }),
      ),
    ).toEqual([
      { path: 'colour', message: 'is not a known option' },
      { path: 'domain', message: 'is required' },
      { path: 'listen.port', message: 'must be an integer from 0 to 65535' },
      { path: 'users[0].password', message: 'is required' },
      { path: 'users[1].role', message: 'is not a known option' },
      { path: 'users[1].username', message: '"alice" is listed twice' },
      { path: 'calls.pushWaitMs', message: 'must not exceed calls.ringTimeoutMs' },
      { path: 'push.providers[1]', message: 'must be one of apns, fcm, hms, webpush' },
      { path: 'log.level', message: 'must be one of fatal, error, warn, info, debug, trace, silent' },
    ]);
  });

  it('reads edge mode: no users, the domain from the upstream, Path and the push parameters kept at the bridge by default', () => {
    const config = resolveConfig({ mode: 'edge', edge: { upstream: 'sip:pbx.example.com:5070;transport=tcp' } });
    expect([config.mode, config.domain, config.users]).toEqual(['edge', 'pbx.example.com', []]);
    expect(config.edge).toEqual({
      upstream: {
        uri: 'sip:pbx.example.com:5070;transport=tcp',
        host: 'pbx.example.com',
        port: 5070,
        transport: 'tcp',
      },
      pathSupport: true,
      forwardPushParams: false,
      upstreamTimeoutMs: 32_000,
      wakeBeforeExpirySeconds: 60,
    });
    expect(resolveConfig({ domain: 'example.com', users: [] }).edge).toBeUndefined();
  });

  it('lists the problems of an edge section with their paths', () => {
    expect(issuesOf(() => resolveConfig({ mode: 'edge' }))).toEqual([
      { path: 'edge', message: 'is required in edge mode: { upstream: "sip:pbx.example.com;transport=udp" }' },
      { path: 'domain', message: 'is required' },
    ]);
    expect(
      issuesOf(() =>
        resolveConfig({
          mode: 'edge',
          domain: 'example.com',
          edge: {
            upstream: 'sips:pbx.example.com',
            outboundProxy: 'sip:alice@proxy.example.com;transport=sctp',
            pathSupport: 'yes',
            upstreamTimeoutMs: 10,
            colour: 'blue',
          } as never,
        }),
      ),
    ).toEqual([
      { path: 'edge.colour', message: 'is not a known option' },
      { path: 'edge.upstream', message: 'must be a sip: URI, not sips:' },
      { path: 'edge.outboundProxy', message: 'names a host, not a user: drop the user part' },
      { path: 'edge.outboundProxy', message: 'transport must be one of udp, tcp' },
      { path: 'edge.pathSupport', message: 'must be true or false' },
      { path: 'edge.upstreamTimeoutMs', message: 'must be an integer from 500 to 64000' },
    ]);
    expect(issuesOf(() => resolveConfig({ domain: 'example.com', users: [], edge: {} }))).toEqual([
      { path: 'edge', message: 'is only read with mode: edge' },
    ]);
  });

  it('applies PUSHRELAY_SIP_BRIDGE__ variables over the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sip-bridge-config-'));
    const file = join(dir, 'bridge.json');
    writeFileSync(
      file,
      JSON.stringify({
        domain: 'sip.example.com',
        users: [{ username: 'alice', password: 'pw' }],
        listen: { port: 5070 },
      }),
    );
    const config = await loadConfig(file, {
      PUSHRELAY_SIP_BRIDGE__LISTEN__PORT: '5080',
      PUSHRELAY_SIP_BRIDGE__CALLS__RING_TIMEOUT_MS: '20000',
      PUSHRELAY_SIP_BRIDGE__LOG__LEVEL: 'warn',
      PUSHRELAY_SIP_BRIDGE__METRICS: 'null',
    });
    expect([
      config.listen.port,
      config.calls.ringTimeoutMs,
      config.calls.pushWaitMs,
      config.log.level,
      config.metrics,
    ]).toEqual([5080, 20000, 20000, 'warn', null]);
    expect(applyEnvOverrides({}, { PUSHRELAY_SIP_BRIDGE__PUSH__PROVIDERS: '["fcm"]', OTHER: '1' })).toEqual({
      push: { providers: ['fcm'] },
    });
  });

  it('reports an unreadable file and broken JSON as config errors', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sip-bridge-config-'));
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{ "domain": ');
    await expect(loadConfig(join(dir, 'missing.json'), {})).rejects.toThrow(ValidationError);
    await expect(loadConfig(broken, {})).rejects.toThrow(/broken\.json is not JSON/);
  });

  it('reports a bad APNs transport option under apns', async () => {
    await expect(
      startBridge({
        config: {
          domain: 'x.example',
          users: [],
          apns: {
            apps: [
              {
                bundleId: 'com.example.app',
                credential: { type: 'token', keyFile: '/nonexistent/key.p8', keyId: 'K', teamId: 'T' },
              },
            ],
          },
          metrics: null,
          log: { level: 'silent' },
        },
      }),
    ).rejects.toThrow(/apns\.apps\[0\]\.credential\.keyFile: cannot read/);
  });
});

describe('store, queue and ephemeral engines', () => {
  const base = { domain: 'sip.example.com', users: [{ username: 'alice', password: 'pw' }] };

  it('fills the gateway defaults of postgres, bullmq and redis', () => {
    const config = resolveConfig({
      ...base,
      store: { engine: 'postgres', url: 'postgres://postgres@127.0.0.1:5432/test' },
      queue: { engine: 'bullmq', redis: 'redis://127.0.0.1:6379/0' },
      ephemeral: { engine: 'redis', redis: 'redis://127.0.0.1:6379/1', prefix: 'bridge-a' },
    });
    expect([config.store, config.queue, config.ephemeral]).toEqual([
      { engine: 'postgres', url: 'postgres://postgres@127.0.0.1:5432/test', schema: 'pushrelay', poolSize: 10 },
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
      { engine: 'redis', redis: 'redis://127.0.0.1:6379/1', prefix: 'bridge-a' },
    ]);
  });

  it('takes memory or a URL as the short form of a section', () => {
    const config = resolveConfig({
      ...base,
      store: 'postgresql://db.example/relay',
      queue: 'rediss://cache.example:6380/2',
      ephemeral: 'memory',
    });
    expect([config.store, config.queue.engine, config.ephemeral]).toEqual([
      { engine: 'postgres', url: 'postgresql://db.example/relay', schema: 'pushrelay', poolSize: 10 },
      'bullmq',
      { engine: 'memory' },
    ]);
  });

  it('names the path of every bad engine option', () => {
    expect(
      issuesOf(() =>
        resolveConfig({
          ...base,
          store: { engine: 'postgres', schema: '1st', poolSize: 0, host: 'db' },
          queue: {
            engine: 'bullmq',
            redis: 'http://127.0.0.1:6379',
            prefix: 'has space',
            concurrency: 0,
            lockDurationMs: 10,
          },
          ephemeral: { engine: 'redis', redis: 'redis://:p%zz@127.0.0.1:6379/0' },
        }),
      ),
    ).toEqual([
      { path: 'store.host', message: 'is not a known option' },
      { path: 'store.url', message: 'is required for a postgres store (postgres://user@host:5432/db)' },
      {
        path: 'store.schema',
        message: 'must be a plain SQL identifier (letters, digits, _; not starting with a digit)',
      },
      { path: 'store.poolSize', message: 'must be an integer from 1 to 1000' },
      { path: 'queue.redis', message: 'must be a redis:// or rediss:// URL' },
      { path: 'queue.prefix', message: 'may only hold letters, digits and . _ : { } - (1-100)' },
      { path: 'queue.concurrency', message: 'must be an integer from 1 to 10000' },
      { path: 'queue.lockDurationMs', message: 'must be an integer from 1000 to 600000' },
      { path: 'ephemeral.redis', message: 'the password is not validly %-encoded' },
    ]);
    expect(
      issuesOf(() =>
        resolveConfig({
          ...base,
          store: { engine: 'sqlite' },
          queue: { engine: 'kafka' },
          ephemeral: 'mysql://x',
          ...({ extra: 1 } as object),
        }),
      ),
    ).toEqual([
      { path: 'extra', message: 'is not a known option' },
      { path: 'store.engine', message: 'must be "memory" or "postgres"' },
      { path: 'queue.engine', message: 'must be "memory" or "bullmq"' },
      { path: 'ephemeral', message: 'must be "memory", a redis:// URL or an object with an engine' },
    ]);
    expect(issuesOf(() => resolveConfig({ ...base, store: 'sqlite.db', queue: 42 as never }))).toEqual([
      { path: 'store', message: 'must be "memory", a postgres:// URL or an object with an engine' },
      { path: 'queue', message: 'must be an object with an engine' },
    ]);
  });

  it("switches engines by environment, keeping the file's other options of the section", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sip-bridge-config-'));
    const file = join(dir, 'bridge.json');
    writeFileSync(
      file,
      JSON.stringify({
        ...base,
        store: { engine: 'postgres', url: 'postgres://old@db/relay', schema: 'bridge' },
        queue: { engine: 'memory', concurrency: 8 },
      }),
    );
    const config = await loadConfig(file, {
      PUSHRELAY_SIP_BRIDGE__STORE: 'postgres://new@db/relay',
      PUSHRELAY_SIP_BRIDGE__QUEUE__PREFIX: 'bridge-b',
      PUSHRELAY_SIP_BRIDGE__QUEUE: 'redis://127.0.0.1:6379/3',
      PUSHRELAY_SIP_BRIDGE__EPHEMERAL: 'redis://127.0.0.1:6379/4',
    });
    expect([config.store, config.queue, config.ephemeral]).toEqual([
      { engine: 'postgres', url: 'postgres://new@db/relay', schema: 'bridge', poolSize: 10 },
      {
        engine: 'bullmq',
        redis: 'redis://127.0.0.1:6379/3',
        prefix: 'bridge-b',
        concurrency: 8,
        lockDurationMs: 30_000,
        stalledIntervalMs: 30_000,
        scheduleTimeoutMs: 5000,
        closeGraceMs: 5000,
      },
      { engine: 'redis', redis: 'redis://127.0.0.1:6379/4', prefix: 'pushrelay' },
    ]);
    const back = await loadConfig(file, { PUSHRELAY_SIP_BRIDGE__STORE: 'memory' });
    expect(back.store).toEqual({ engine: 'memory' });
    await expect(loadConfig(file, { PUSHRELAY_SIP_BRIDGE__EPHEMERAL__ENGINE: 'redis' })).rejects.toThrow(
      /ephemeral\.redis: is required/,
    );
  });

  it('reports a postgres store it cannot reach under store.url', async () => {
    // Port 1 on the loopback refuses at once: no server is needed to see the error path.
    await expect(
      startBridge({
        config: {
          ...base,
          domain: '127.0.0.1',
          listen: { port: 0 },
          metrics: null,
          log: { level: 'silent' },
          store: 'postgres://postgres@127.0.0.1:1/test',
        },
      }),
    ).rejects.toThrow(/store\.url: cannot open the postgres store/);
  });

  it('logs no password of a database or Redis URL, nor of a SIP user', async () => {
    const config = resolveConfig({
      ...base,
      store: 'postgres://relay:db-secret@127.0.0.1:5432/test?password=db-secret&application_name=bridge',
      queue: 'redis://:queue-secret@127.0.0.1:6379/0',
      ephemeral: 'rediss://user:ephemeral-secret@127.0.0.1:6380/1',
    });
    const redacted = redactedConfig(config);
    expect(JSON.stringify(redacted)).not.toMatch(/db-secret|queue-secret|ephemeral-secret|"pw"/);
    expect([redacted.store, redacted.queue, redacted.ephemeral]).toMatchObject([
      { url: 'postgres://relay:redacted@127.0.0.1:5432/test?password=redacted&application_name=bridge' },
      { redis: 'redis://:redacted@127.0.0.1:6379/0' },
      { redis: 'rediss://user:redacted@127.0.0.1:6380/1' },
    ]);
    expect(config.queue).toMatchObject({ redis: 'redis://:queue-secret@127.0.0.1:6379/0' });

    // The start line carries the engines; nothing below may bring a password back.
    let logged = '';
    const sink = new Writable({ write: (chunk: Buffer, _enc, done) => ((logged += chunk.toString()), done()) });
    const bridge = await startBridge({
      config: {
        ...base,
        domain: '127.0.0.1',
        listen: { port: 0, tcp: false },
        metrics: null,
        ephemeral: 'memory',
        store: 'memory',
        queue: { engine: 'memory' },
      },
      logger: createLogger('info', sink),
    });
    await bridge.stop();
    expect(logged).toMatch(/"store":\{"engine":"memory"\}/);
  });
});

describe('logs and metrics', () => {
  it('censors tokens, numbers and SIP addresses in logs', () => {
    let written = '';
    const sink = new Writable({ write: (chunk: Buffer, _enc, done) => ((written += chunk.toString()), done()) });
    createLogger('info', sink).info(
      { token: 'secret-token', caller: '+15551234567', push: { token: 'x' }, callId: 'c1' },
      'push',
    );
    const line = JSON.parse(written) as Record<string, unknown>;
    expect([line['token'], line['caller'], line['push'], line['callId']]).toEqual([
      '[redacted]',
      '[redacted]',
      { token: '[redacted]' },
      'c1',
    ]);
  });

  it('serves Prometheus metrics and shuts down within its bound', async () => {
    const bridge = await startBridge({
      config: {
        domain: '127.0.0.1',
        listen: { port: 0 },
        users: [],
        metrics: { port: 0 },
        log: { level: 'silent' },
        shutdownTimeoutMs: 500,
      },
    });
    const text = await (await fetch(`http://127.0.0.1:${bridge.metricsPort}/metrics`)).text();
    expect(text).toContain('# TYPE sip_bridge_held_invites gauge');
    expect(text).toContain('sip_bridge_unavailable_total 0');
    const started = Date.now();
    await bridge.stop();
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe('registrar mode options', () => {
  const base = { domain: 'sip.example.com', users: [{ username: 'alice', password: 'pw' }] };

  it('reads the trunk, its sources, credentials and transport from its URI', () => {
    const config = resolveConfig({
      ...base,
      trunk: {
        uri: 'sips:192.0.2.10',
        username: 'bridge',
        password: 'trunk-secret',
        sources: ['192.0.2.10', '192.0.2.11:5080', '[2001:db8::1]:5060'],
        inbound: { username: 'pbx', password: 'inbound-secret' },
      },
    });
    expect(config.trunk).toEqual({
      uri: 'sips:192.0.2.10',
      host: '192.0.2.10',
      port: 5061,
      transport: 'tls',
      username: 'bridge',
      password: 'trunk-secret',
      sources: [{ host: '192.0.2.10' }, { host: '192.0.2.11', port: 5080 }, { host: '2001:db8::1', port: 5060 }],
      inbound: { username: 'pbx', password: 'inbound-secret' },
    });
    expect(resolveConfig({ ...base, trunk: { uri: 'sip:pbx.example.com;transport=TCP' } }).trunk).toEqual({
      uri: 'sip:pbx.example.com;transport=TCP',
      host: 'pbx.example.com',
      port: 5060,
      transport: 'tcp',
      sources: [{ host: 'pbx.example.com', port: 5060 }],
    });
    expect(
      redactedConfig(resolveConfig({ ...base, trunk: { uri: 'sip:192.0.2.10', username: 'u', password: 'p' } })).trunk,
    ).toMatchObject({ password: '[redacted]' });
  });

  it('names the path of every bad registrar option', () => {
    expect(
      issuesOf(() =>
        resolveConfig({
          ...base,
          users: [
            { username: 'alice', ha1Md5: 'not-hex' },
            { username: 'pbx', password: 'x' },
          ],
          auth: { users: 'postgres', requests: 'yes', colour: 1 },
          trunk: { uri: 'mailto:pbx@example.com', sources: ['192.0.2.1:99999', 5], inbound: { username: 'pbx' } },
          tls: { port: 5061, certFile: 'cert.pem' },
          hms: { credentials: [] },
          push: { pnProviders: { hms: 'huawei' } },
          limits: { maxServerTransactions: 0 },
        }),
      ),
    ).toEqual([
      { path: 'users[0].ha1Md5', message: '"not-hex" is not valid' },
      { path: 'push.pnProviders.hms', message: 'must be one of apns, fcm, hms, webpush' },
      { path: 'auth.colour', message: 'is not a known option' },
      { path: 'auth.requests', message: 'must be true or false' },
      { path: 'auth.users', message: '"postgres" needs a postgres store (store.engine: postgres)' },
      { path: 'limits.maxServerTransactions', message: 'must be an integer from 1 to 10000000' },
      { path: 'trunk.uri', message: 'must be a sip: or sips: URI' },
      { path: 'trunk.sources[0]', message: 'port must be from 1 to 65535' },
      { path: 'trunk.sources[1]', message: 'must be "host" or "host:port"' },
      { path: 'trunk.inbound.password', message: 'is required' },
      { path: 'tls.keyFile', message: 'is required' },
      { path: 'hms.credentials', message: 'must list at least one app credential' },
      { path: 'trunk.inbound.username', message: 'is also a user; the trunk needs an account of its own' },
      { path: 'push.providers', message: 'must list hms when hms is configured' },
    ]);
  });

  it('takes users as HA1s, or from postgres without a list', () => {
    const ha1Md5 = 'a'.repeat(32);
    expect(resolveConfig({ ...base, users: [{ username: 'bob', ha1Md5 }] }).users).toEqual([
      { username: 'bob', ha1Md5 },
    ]);
    const fromPostgres = resolveConfig({
      domain: 'sip.example.com',
      store: 'postgres://postgres@127.0.0.1:5432/test',
      auth: { users: 'postgres', userCacheTtlMs: 1000 },
    });
    expect([fromPostgres.users, fromPostgres.auth]).toEqual([
      [],
      { requests: true, users: 'postgres', userCacheTtlMs: 1000 },
    ]);
    expect(issuesOf(() => resolveConfig({ domain: 'sip.example.com' }))).toEqual([
      { path: 'users', message: 'must be a list of { username, password }' },
    ]);
  });

  it('maps pn-provider names and serves HMS from its own section', () => {
    const config = resolveConfig({
      ...base,
      push: { providers: ['fcm', 'hms'], pnProviders: { fcm: 'fcm', HMS: 'hms' }, hmsApp: '107000001' },
      hms: { credentials: [{ appId: '107000001', clientSecret: 's' }] },
      tls: { certFile: '/etc/pushrelay/cert.pem', keyFile: '/etc/pushrelay/key.pem' },
    });
    expect([config.push.pnProviders, config.push.hmsApp, config.hms, config.tls]).toEqual([
      { fcm: 'fcm', hms: 'hms' },
      '107000001',
      { credentials: [{ appId: '107000001', clientSecret: 's' }] },
      { port: 5061, certFile: '/etc/pushrelay/cert.pem', keyFile: '/etc/pushrelay/key.pem' },
    ]);
  });
});
