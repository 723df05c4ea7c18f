import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '@pushrelay/core';
import { applyEnvOverrides, createLogger, loadConfig, resolveConfig, startBridge } from '../src/index.js';

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
      digest: { algorithms: ['SHA-256', 'MD5'], allowNoQop: false, allowUriMismatch: false },
      registration: { defaultExpires: 3600, minExpires: 60, maxExpires: 7200 },
      calls: { ringTimeoutMs: 30_000, pushWaitMs: 30_000, missedCallTtlMs: 604_800_000 },
      push: { providers: ['apns', 'fcm'], environment: 'production' },
      metrics: { host: '127.0.0.1', port: 9464 },
      log: { level: 'info' },
      shutdownTimeoutMs: 5000,
    });
  });

  it('lists every problem with its path', () => {
    expect(
      issuesOf(() =>
        resolveConfig({
          users: [{ username: 'alice' }, { username: 'alice', password: 'x', role: 'admin' }],
          listen: { port: 70000 },
          calls: { ringTimeoutMs: 5000, pushWaitMs: 9000 },
          push: { providers: ['apns', 'webpush'] },
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
      { path: 'push.providers[1]', message: 'must be one of apns, fcm' },
      { path: 'log.level', message: 'must be one of fatal, error, warn, info, debug, trace, silent' },
    ]);
  });

  it('applies PUSHRELAY_SIP_BRIDGE__ variables over the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sip-bridge-config-'));
    const file = join(dir, 'bridge.json');
    writeFileSync(file, JSON.stringify({ domain: 'sip.example.com', users: [{ username: 'alice', password: 'pw' }], listen: { port: 5070 } }));
    const config = await loadConfig(file, {
      PUSHRELAY_SIP_BRIDGE__LISTEN__PORT: '5080',
      PUSHRELAY_SIP_BRIDGE__CALLS__RING_TIMEOUT_MS: '20000',
      PUSHRELAY_SIP_BRIDGE__LOG__LEVEL: 'warn',
      PUSHRELAY_SIP_BRIDGE__METRICS: 'null',
    });
    expect([config.listen.port, config.calls.ringTimeoutMs, config.calls.pushWaitMs, config.log.level, config.metrics]).toEqual([5080, 20000, 20000, 'warn', null]);
    expect(applyEnvOverrides({}, { PUSHRELAY_SIP_BRIDGE__PUSH__PROVIDERS: '["fcm"]', OTHER: '1' })).toEqual({ push: { providers: ['fcm'] } });
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
      startBridge({ config: { domain: 'x.example', users: [], apns: { apps: [{ bundleId: 'com.example.app', credential: { type: 'token', keyFile: '/nonexistent/key.p8', keyId: 'K', teamId: 'T' } }] }, metrics: null, log: { level: 'silent' } } }),
    ).rejects.toThrow(/apns\.apps\[0\]\.credential\.keyFile: cannot read/);
  });
});

describe('logs and metrics', () => {
  it('censors tokens, numbers and SIP addresses in logs', () => {
    let written = '';
    const sink = new Writable({ write: (chunk: Buffer, _enc, done) => ((written += chunk.toString()), done()) });
    createLogger('info', sink).info({ token: 'secret-token', caller: '+15551234567', push: { token: 'x' }, callId: 'c1' }, 'push');
    const line = JSON.parse(written) as Record<string, unknown>;
    expect([line['token'], line['caller'], line['push'], line['callId']]).toEqual(['[redacted]', '[redacted]', { token: '[redacted]' }, 'c1']);
  });

  it('serves Prometheus metrics and shuts down within its bound', async () => {
    const bridge = await startBridge({ config: { domain: '127.0.0.1', listen: { port: 0 }, users: [], metrics: { port: 0 }, log: { level: 'silent' }, shutdownTimeoutMs: 500 } });
    const text = await (await fetch(`http://127.0.0.1:${bridge.metricsPort}/metrics`)).text();
    expect(text).toContain('# TYPE sip_bridge_held_invites gauge');
    expect(text).toContain('sip_bridge_unavailable_total 0');
    const started = Date.now();
    await bridge.stop();
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
