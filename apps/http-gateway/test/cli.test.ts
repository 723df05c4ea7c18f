import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../src/index.js';

// The real `pushrelay` process, from the sources (tools/bench/run-ts.mjs), as the multi-process tests run it.
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const runTs = join(root, 'tools/bench/run-ts.mjs');
const entry = join(root, 'apps/http-gateway/test/fixtures/serve.ts');
const version = (JSON.parse(readFileSync(join(root, 'apps/http-gateway/package.json'), 'utf8')) as { version: string })
  .version;

const dir = mkdtempSync(join(tmpdir(), 'pushrelay-cli-'));
const configFile = join(dir, 'pushrelay.json');
writeFileSync(
  configFile,
  JSON.stringify({
    listen: { host: '127.0.0.1', port: 1 },
    logLevel: 'error',
    tenants: [{ id: 't', apiKeySha256: [sha256Hex('cli-test-key-123456')] }],
  }),
);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI to its end; with `until`, stops it (SIGTERM) once stdout matches and returns what it printed. */
function pushrelay(args: string[], options: { env?: Record<string, string>; until?: RegExp } = {}): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
  for (const name of Object.keys(env)) if (name === 'PORT' || name.startsWith('PUSHRELAY_')) delete env[name];
  Object.assign(env, options.env);
  const child = spawn(process.execPath, [runTs, entry, ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => {
    stdout += c.toString();
    if (options.until?.test(stdout)) child.kill('SIGTERM');
  });
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((ok) => child.once('close', (code) => ok({ code, stdout, stderr })));
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as { port: number };
  await new Promise((ok) => server.close(ok));
  return port;
}

describe('pushrelay CLI', () => {
  it('--help and -h print the commands on stdout, exit 0', async () => {
    for (const flag of ['--help', '-h']) {
      const run = await pushrelay([flag]);
      expect(run.code, flag).toBe(0);
      expect(run.stdout).toMatch(/^Usage: pushrelay <command> \[options\]/);
      for (const command of ['serve', 'check-config', 'send', 'devices', 'vapid-keys'])
        expect(run.stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
      expect(run.stderr).toBe('');
    }
  }, 30_000);

  it('--version and -V print the package version', async () => {
    for (const flag of ['--version', '-V']) {
      const run = await pushrelay([flag]);
      expect([run.code, run.stdout.trim()], flag).toEqual([0, version]);
    }
  }, 30_000);

  it("each command's --help lists its own options and the environment it reads", async () => {
    const serve = await pushrelay(['serve', '--help']);
    expect(serve.code).toBe(0);
    expect(serve.stdout).toMatch(/^Usage: pushrelay serve --config <file>/);
    for (const option of ['--config <file>', '--host <host>', '--port <port>', '--help'])
      expect(serve.stdout).toContain(option);
    expect(serve.stdout).not.toContain('--token');
    for (const variable of ['PUSHRELAY_<SETTING>[__<OPTION>]', 'PUSHRELAY_STORE', 'PORT '])
      expect(serve.stdout).toContain(variable);

    const send = await pushrelay(['help', 'send']);
    expect(send.code).toBe(0);
    for (const option of ['--provider', '--token', '--app', '--format', '--push-kind', '--call-id'])
      expect(send.stdout).toContain(option);

    const devices = await pushrelay(['devices', '-h']);
    expect(devices.stdout).toMatch(/^Usage: pushrelay devices --config <file> --tenant <id> --user <id>/);
  }, 60_000);

  it('usage errors are one line and a hint on stderr, exit 2, no stack trace', async () => {
    const cases: Array<[string[], string]> = [
      [['frobnicate'], 'pushrelay: unknown command "frobnicate"'],
      [['--frob'], 'pushrelay: unknown option --frob'],
      [['serve', '--bogus'], 'pushrelay serve: unknown option --bogus'],
      [['serve', '--config'], 'pushrelay serve: option --config needs a value'],
      [['serve'], 'pushrelay serve: --config <file> is required'],
      [['serve', '--config', configFile, '--port', 'eighty'], 'pushrelay serve: --port must be a port number'],
      [['devices', '--config', configFile, '--tenant', 't'], 'pushrelay devices: --tenant <id> and --user <id>'],
      [['check-config', 'extra'], 'pushrelay check-config: unexpected argument extra'],
    ];
    for (const [args, first] of cases) {
      const run = await pushrelay(args);
      expect(run.code, args.join(' ')).toBe(2);
      const lines = run.stderr.trim().split('\n');
      expect(lines[0], args.join(' ')).toContain(first);
      expect(lines.at(-1)).toMatch(/^Run "pushrelay( \S+)? --help" for/);
      expect(run.stderr).not.toMatch(/\n\s+at /);
      expect(run.stdout).toBe('');
    }
  }, 120_000);

  it('no command prints the usage on stderr, exit 2', async () => {
    const run = await pushrelay([]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^Usage: pushrelay <command>/);
  }, 30_000);

  it('serve listens on PORT, and --port wins over PORT', async () => {
    const port = await freePort();
    const byEnv = await pushrelay(['serve', '--config', configFile], {
      env: { PORT: String(port) },
      until: /listening on/,
    });
    expect(byEnv.stdout).toContain(`pushrelay listening on http://127.0.0.1:${port}`);

    const other = await freePort();
    const byFlag = await pushrelay(['serve', '--config', configFile, '--port', String(other)], {
      env: { PORT: String(port) },
      until: /listening on/,
    });
    expect(byFlag.stdout).toContain(`pushrelay listening on http://127.0.0.1:${other}`);
  }, 60_000);
});
