import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsumerProject, buildAndPack, publishablePackages, type PackedPackage } from './support/consumer.js';
import { childEnv, run, workspaceRoot } from './support/workspace.js';

// What a user outside this repository gets: the packages built and packed as a release packs them,
// linted as tarballs, and installed into a fresh strict TypeScript project that type-checks and
// runs a small service against the FCM simulator, and loads every package with require().

const fixture = resolve(fileURLToPath(new URL('../fixtures/consumer', import.meta.url)));
let tarballs: string;
let packed: PackedPackage[];
let consumer: ConsumerProject;

beforeAll(() => {
  tarballs = mkdtempSync(join(tmpdir(), 'pushrelay-tarballs-'));
  packed = buildAndPack(tarballs);
  consumer = new ConsumerProject(fixture, packed);
});
afterAll(() => {
  consumer?.remove();
  if (tarballs) rmSync(tarballs, { recursive: true, force: true });
});

describe('the packed packages, as npm users get them', () => {
  it('packs every publishable package, with its LICENSE, README and built entry points', () => {
    expect(packed.map((p) => p.name).sort()).toEqual(
      publishablePackages()
        .map((p) => p.name)
        .sort(),
    );
    for (const p of packed) {
      const listing = run('tar', ['-tzf', p.tarball], tarballs).output.split('\n');
      expect(listing, p.name).toEqual(
        expect.arrayContaining([
          'package/LICENSE',
          'package/README.md',
          'package/package.json',
          'package/dist/index.js',
        ]),
      );
      expect(
        listing.filter((f) => f.endsWith('.tsbuildinfo') || f.includes('/test/')),
        p.name,
      ).toEqual([]);
    }
  });

  it('passes publint, warnings included, for every tarball', async () => {
    const problems: string[] = [];
    for (const p of packed) {
      const tarball = readFileSync(p.tarball);
      const { messages, pkg } = await publint({
        pack: { tarball: tarball.buffer.slice(tarball.byteOffset, tarball.byteOffset + tarball.byteLength) },
        level: 'warning',
        strict: true,
      });
      for (const m of messages) problems.push(`${p.name}: ${m.type} ${formatMessage(m, pkg) ?? m.code}`);
    }
    expect(problems).toEqual([]);
  });

  it('has types that resolve for ESM and bundlers in every entry point (are-the-types-wrong)', () => {
    const failures: string[] = [];
    for (const p of packed) {
      const r = run(
        process.execPath,
        [
          join(workspaceRoot, 'node_modules', '@arethetypeswrong', 'cli', 'dist', 'index.js'),
          p.tarball,
          '--profile',
          'esm-only',
          '--no-definitely-typed',
          '--format',
          'ascii',
          '--no-color',
          '--no-emoji',
        ],
        tarballs,
        childEnv(),
      );
      if (r.status !== 0) failures.push(`${p.name}:\n${r.output}`);
    }
    expect(failures).toEqual([]);
  });

  it('type-checks a strict nodenext project that uses them, declaration files included', () => {
    const r = run(
      process.execPath,
      [consumer.path('node_modules', 'typescript', 'bin', 'tsc'), '-p', consumer.path('tsconfig.json')],
      consumer.root,
    );
    expect(r.output).toBe('');
    expect(r.status).toBe(0);
  });

  it('runs the service: a SignalWire call through the relay and FCM, opened with the client decoder', () => {
    const output = consumer.node(consumer.path('dist', 'service.js')).trim().split('\n').at(-1)!;
    const result = JSON.parse(output) as {
      status: string;
      devices: string[];
      invite: { params: { params: { callID: string } } };
    };
    expect(result.status).toBe('completed');
    expect(result.devices).toEqual(['delivered']);
    expect(result.invite.params.params.callID).toBe('5c3c2f0e-7a0b-4c51-9d1e-2b8f6a4d3c21');
  });

  it('loads every package with require() from CommonJS on this Node', () => {
    const names = packed.map((p) => p.name);
    const loaded = JSON.parse(consumer.node(consumer.path('require-check.cjs'), JSON.stringify(names))) as Record<
      string,
      number
    >;
    expect(Object.keys(loaded).sort()).toEqual([...names].sort());
    for (const name of names) expect(loaded[name], name).toBeGreaterThan(0);
  });
});
