import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../src/index.js';
import { REDIS_URL } from './cluster.js';

// `pushrelay serve` from the sources with the bench's probe (tools/bench/src/idle-probe.mjs): a
// resolve hook and the CommonJS cache list every npm package the process loaded once it listens.
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const runTs = join(root, 'tools/bench/run-ts.mjs');
const entry = join(root, 'apps/http-gateway/test/fixtures/serve.ts');
const probe = join(root, 'tools/bench/src/idle-probe.mjs');
const dir = mkdtempSync(join(tmpdir(), 'pushrelay-lazy-boot-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ENGINE_PACKAGES = ['bullmq', 'ioredis', 'pg', 'web-push', 'firebase-admin'];

/** Starts the gateway with `config`, and once it listens, the npm packages it has loaded. */
async function loadedPackages(name: string, config: Record<string, unknown>): Promise<string[]> {
  const configFile = join(dir, `${name}.json`);
  const out = join(dir, `${name}.probe.json`);
  writeFileSync(
    configFile,
    JSON.stringify({
      listen: { host: '127.0.0.1', port: 0 },
      logLevel: 'error',
      tenants: [{ id: 't', apiKeySha256: [sha256Hex('lazy-boot-key-123456')] }],
      ...config,
    }),
  );
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(env)) if (key === 'PORT' || key.startsWith('PUSHRELAY_')) delete env[key];
  Object.assign(env, { PUSHRELAY_PROBE_OUT: out, PUSHRELAY_PROBE_MODULES: '1' });
  const child = spawn(process.execPath, ['--import', probe, runTs, entry, 'serve', '--config', configFile], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<void>((ok) => child.once('close', () => ok()));
  try {
    await new Promise<void>((ok, fail) => {
      let stdout = '';
      child.stdout.on('data', (c: Buffer) => {
        stdout += c.toString();
        if (/listening on/.test(stdout)) ok();
      });
      child.once('close', (code) => fail(new Error(`pushrelay serve exited with ${code}: ${stderr}`)));
    });
    child.kill('SIGUSR2');
    for (let i = 0; i < 100 && !existsSync(out); i++) await new Promise((r) => setTimeout(r, 50));
    // The probe writes the file in one call; a read that races it sees a partial file.
    await new Promise((r) => setTimeout(r, 100));
    return (JSON.parse(readFileSync(out, 'utf8')) as { packages: string[] }).packages;
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

describe('what pushrelay serve imports', () => {
  it('on SQLite with no provider: the SQLite engine, and no other engine, transport client or firebase-admin', async () => {
    const packages = await loadedPackages('sqlite', { store: { engine: 'sqlite', path: join(dir, 'relay.db') } });
    expect(packages).toContain('better-sqlite3');
    expect(packages.filter((p) => ENGINE_PACKAGES.includes(p) || p === 'undici')).toEqual([]);
  }, 60_000);

  it('with BullMQ and Redis: those engines, still not pg or web-push', async () => {
    const packages = await loadedPackages('redis', {
      queue: { engine: 'bullmq', redis: REDIS_URL, prefix: `lazy-boot-${process.pid}` },
      ephemeral: { engine: 'redis', redis: REDIS_URL, prefix: `lazy-boot-${process.pid}` },
    });
    expect(packages).toEqual(expect.arrayContaining(['bullmq', 'ioredis']));
    expect(packages.filter((p) => ['pg', 'web-push', 'firebase-admin', 'better-sqlite3'].includes(p))).toEqual([]);
  }, 60_000);
});
