import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, type ConfigWarning } from '@pushrelay/app-kit';
import { loadConfig, resolveConfig } from '../src/index.js';

const base = { domain: 'sip.example.com', users: [{ username: 'alice', password: 'pw' }] };
const fcm = { credentials: [{ serviceAccount: '{}' }] };

describe('renamed options', () => {
  it('reads the provider sections under providers, as the gateway does', () => {
    const warnings: ConfigWarning[] = [];
    const config = resolveConfig({ ...base, providers: { fcm } }, { onWarning: (w) => warnings.push(w) });
    expect([config.fcm, warnings]).toEqual([fcm, []]);
  });

  it('still reads the old top-level sections, each with a warning, and refuses both at once', () => {
    const warnings: ConfigWarning[] = [];
    const config = resolveConfig({ ...base, fcm }, { onWarning: (w) => warnings.push(w) });
    expect([config.fcm, warnings]).toEqual([
      fcm,
      [{ path: 'fcm', message: 'is read for one more release: move it to providers.fcm' }],
    ]);
    expect(() => resolveConfig({ ...base, fcm, providers: { fcm, mpns: {} } })).toThrow(ConfigError);
    try {
      resolveConfig({ ...base, fcm, providers: { fcm, mpns: {} } });
    } catch (error) {
      expect((error as ConfigError).issues).toEqual([
        { path: 'providers.mpns', message: 'is not a known option' },
        { path: 'fcm', message: 'is also given as providers.fcm: keep one' },
      ]);
    }
  });

  it('reads PUSHRELAY_<SECTION>__<OPTION> over the old prefix, which still works with a warning', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sip-bridge-migration-'));
    const file = join(dir, 'bridge.yaml');
    writeFileSync(file, 'domain: sip.example.com\nusers:\n  - { username: alice, password: pw }\n');
    const warnings: ConfigWarning[] = [];
    const config = await loadConfig(
      file,
      {
        PUSHRELAY_SIP_BRIDGE__LISTEN__PORT: '5070',
        PUSHRELAY_LISTEN__PORT: '5080',
        PUSHRELAY_SIP_BRIDGE__CALLS__RING_TIMEOUT_MS: '20000',
        PUSHRELAY_QUEUE: 'redis://127.0.0.1:6379/3',
        PUSHRELAY_LOG_LEVEL: 'debug',
        PUSHRELAY_REQUIRE_SERVICES: '1',
      },
      (w) => warnings.push(w),
    );
    expect([config.listen.port, config.calls.ringTimeoutMs, config.queue.engine, config.log.level]).toEqual([
      5080,
      20000,
      'bullmq',
      'info',
    ]);
    expect(warnings.map((w) => w.message)).toEqual([
      'PUSHRELAY_SIP_BRIDGE__LISTEN__PORT is read for one more release: name it PUSHRELAY_LISTEN__PORT',
      'PUSHRELAY_SIP_BRIDGE__CALLS__RING_TIMEOUT_MS is read for one more release: name it PUSHRELAY_CALLS__RING_TIMEOUT_MS',
    ]);
  });

  it('reads passwords from the environment or a file next to the config', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sip-bridge-migration-'));
    const file = join(dir, 'bridge.json');
    writeFileSync(join(dir, 'trunk.secret'), 'trunk-pw');
    writeFileSync(
      file,
      JSON.stringify({
        domain: 'sip.example.com',
        users: [
          { username: 'alice', password: { env: 'ALICE_PW' } },
          { username: 'bob', password: { env: 'NONE' } },
        ],
        trunk: { uri: 'sip:192.0.2.10', username: 'bridge', password: { file: 'trunk.secret' } },
      }),
    );
    await expect(loadConfig(file, { ALICE_PW: 'wonderland' })).rejects.toThrow(
      /users\[1\]\.password: environment variable NONE is not set/,
    );
    writeFileSync(
      file,
      JSON.stringify({
        domain: 'sip.example.com',
        users: [{ username: 'alice', password: { env: 'ALICE_PW' } }],
        trunk: { uri: 'sip:192.0.2.10', username: 'bridge', password: { file: 'trunk.secret' } },
      }),
    );
    const config = await loadConfig(file, { ALICE_PW: 'wonderland' });
    expect([config.users, config.trunk?.password]).toEqual([
      [{ username: 'alice', password: 'wonderland' }],
      'trunk-pw',
    ]);
  });
});
