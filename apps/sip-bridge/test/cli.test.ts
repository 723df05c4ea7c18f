import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The real bridge process, from the sources, as tls-reload.test.ts runs it.
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const runTs = join(root, 'tools/bench/run-ts.mjs');
const mainEntry = join(root, 'apps/sip-bridge/src/main.ts');
const version = (JSON.parse(readFileSync(join(root, 'apps/sip-bridge/package.json'), 'utf8')) as { version: string })
  .version;

function bridge(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env = { ...process.env };
  delete env['PUSHRELAY_SIP_BRIDGE_CONFIG'];
  const child = spawn(process.execPath, [runTs, mainEntry, ...args], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((ok) => child.once('close', (code) => ok({ code, stdout, stderr })));
}

describe('pushrelay-sip-bridge command line', () => {
  it('--help and -h print the usage, options and environment instead of reading a file named --help', async () => {
    for (const flag of ['--help', '-h']) {
      const run = await bridge([flag]);
      expect(run.code, flag).toBe(0);
      expect(run.stdout).toMatch(/^Usage: pushrelay-sip-bridge \[--config <file>\] \[<file>\]/);
      for (const text of [
        '--config <file>',
        '--version',
        'PUSHRELAY_SIP_BRIDGE_CONFIG',
        'PUSHRELAY_<SECTION>__<OPTION>',
      ])
        expect(run.stdout).toContain(text);
      expect(run.stderr).toBe('');
    }
  }, 30_000);

  it('--version and -V print the package version', async () => {
    for (const flag of ['--version', '-V']) {
      const run = await bridge([flag]);
      expect([run.code, run.stdout.trim()], flag).toEqual([0, version]);
    }
  }, 30_000);

  it('an unknown option, a missing value or a second file is a usage error: one line, exit 2, no stack', async () => {
    const cases: Array<[string[], string]> = [
      [['--frob'], 'pushrelay-sip-bridge: unknown option --frob'],
      [['--config'], 'pushrelay-sip-bridge: option --config needs a value'],
      [['a.json', 'b.json'], 'pushrelay-sip-bridge: unexpected argument b.json'],
      [['--config', 'a.json', 'b.json'], 'pushrelay-sip-bridge: give the configuration file once'],
    ];
    for (const [args, first] of cases) {
      const run = await bridge(args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr.split('\n')[0]).toContain(first);
      expect(run.stderr).toContain('Run "pushrelay-sip-bridge --help"');
      expect(run.stderr).not.toMatch(/\n\s+at /);
    }
  }, 60_000);

  it('a configuration file that cannot be read is reported with its path, exit 2', async () => {
    const run = await bridge(['--config', '/nonexistent/bridge.json']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('cannot read /nonexistent/bridge.json');
    expect(run.stderr).not.toMatch(/\n\s+at /);
  }, 30_000);
});
