import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { workspaceRoot } from './support/workspace.js';

const script = join(workspaceRoot, 'tools', 'scripts', 'check-adapters.mjs');

const README = {
  codec: '# x\n\n## Install\n\n## Usage\n\n## Options\n\n## Mapping\n\n## Limitations\n',
  transport: '# x\n\n## Install\n\n## Usage\n\n## Options\n\n## Errors\n\n## Limitations\n',
};

let roots: string[] = [];
afterEach(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
  roots = [];
});

function makeRoot(): string {
  const root = mkdtempSync(join(tmpdir(), 'pushrelay-check-'));
  roots.push(root);
  mkdirSync(join(root, 'packages'));
  return root;
}

function write(root: string, file: string, text: string): void {
  mkdirSync(dirname(join(root, file)), { recursive: true });
  writeFileSync(join(root, file), text);
}

function manifest(kind: 'codec' | 'transport', name: string, overrides: Record<string, unknown> = {}): string {
  return JSON.stringify({
    name: `@pushrelay/${kind}-${name}`,
    version: '0.1.0',
    type: 'module',
    peerDependencies: { '@pushrelay/core': '0.1.0' },
    nx: { tags: ['scope:pushrelay', `type:${kind}`] },
    ...overrides,
  });
}

function completeAdapter(root: string, kind: 'codec' | 'transport', name: string): void {
  const dir = `packages/${kind}-${name}`;
  write(root, `${dir}/package.json`, manifest(kind, name));
  write(root, `${dir}/README.md`, README[kind]);
  write(root, `${dir}/test/conformance.test.ts`, '// runs the testkit suite\n');
  if (kind === 'codec') write(root, `${dir}/fixtures/incoming.json`, '{}');
}

function check(root: string) {
  const r = spawnSync(process.execPath, [script, root], { encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('check-adapters', () => {
  it('passes a workspace whose adapters have every piece', () => {
    const root = makeRoot();
    completeAdapter(root, 'codec', 'acme');
    completeAdapter(root, 'transport', 'acme-push');
    write(root, 'packages/core/package.json', '{}'); // not an adapter: never checked
    const r = check(root);
    expect(r.out).toContain('check-adapters: 2 adapter package(s) complete');
    expect(r.status).toBe(0);
  });

  it('passes a workspace with no adapter at all', () => {
    const r = check(makeRoot());
    expect(r.status).toBe(0);
    expect(r.out).toContain('0 adapter package(s) complete');
  });

  it('fails and lists every missing piece of every adapter', () => {
    const root = makeRoot();
    completeAdapter(root, 'codec', 'good');
    // A codec with nothing but a bare manifest.
    write(root, 'packages/codec-bare/package.json', JSON.stringify({ name: '@pushrelay/codec-bare' }));
    // A codec with an empty fixtures folder, a README that mentions sections only inside code,
    // and the wrong kind of tag.
    write(
      root,
      'packages/codec-half/package.json',
      manifest('codec', 'half', { nx: { tags: ['scope:pushrelay', 'type:transport'] } }),
    );
    mkdirSync(join(root, 'packages/codec-half/fixtures'));
    write(
      root,
      'packages/codec-half/README.md',
      '# half\n\n## Install\n\n```md\n## Usage\n## Options\n```\n\n## Errors\n',
    );
    write(root, 'packages/codec-half/test/conformance.test.ts', '');
    // A transport without peer dependency, scope tag, README or conformance test, but no fixtures needed.
    write(
      root,
      'packages/transport-loose/package.json',
      manifest('transport', 'loose', { peerDependencies: undefined, nx: { tags: ['type:transport'] } }),
    );

    const r = check(root);
    expect(r.status).toBe(1);
    const problems = r.out
      .split('\n')
      .filter((l) => l.startsWith('  - '))
      .map((l) => l.slice(4));
    expect(problems).toEqual([
      'packages/codec-bare: missing test/conformance.test.ts',
      'packages/codec-bare: missing fixtures/ folder',
      'packages/codec-bare: missing README.md',
      'packages/codec-bare: package.json nx.tags lacks "scope:pushrelay"',
      'packages/codec-bare: package.json nx.tags lacks "type:codec"',
      'packages/codec-bare: package.json lacks the peerDependency on @pushrelay/core',
      'packages/codec-half: fixtures/ holds no file',
      'packages/codec-half: README.md lacks the section(s) Usage, Options, Mapping, Limitations',
      'packages/codec-half: package.json nx.tags lacks "type:codec"',
      'packages/transport-loose: missing test/conformance.test.ts',
      'packages/transport-loose: missing README.md',
      'packages/transport-loose: package.json nx.tags lacks "scope:pushrelay"',
      'packages/transport-loose: package.json lacks the peerDependency on @pushrelay/core',
    ]);
    expect(r.out).toContain('check-adapters: 13 problem(s) in 4 adapter package(s)');
  });

  it('reports a package.json that is not JSON or carries another name', () => {
    const root = makeRoot();
    completeAdapter(root, 'transport', 'broken');
    write(root, 'packages/transport-broken/package.json', '{ not json');
    completeAdapter(root, 'codec', 'renamed');
    write(root, 'packages/codec-renamed/package.json', manifest('codec', 'other'));
    const r = check(root);
    expect(r.status).toBe(1);
    expect(r.out).toContain('packages/transport-broken: package.json is not valid JSON');
    expect(r.out).toContain(
      'packages/codec-renamed: package.json name is "@pushrelay/codec-other", expected "@pushrelay/codec-renamed"',
    );
  });

  describe('reachability from the apps', () => {
    function app(root: string, name: string, dependencies: Record<string, string>, tags = ['type:app']): void {
      write(
        root,
        `apps/${name}/package.json`,
        JSON.stringify({ name: `@pushrelay/${name}`, dependencies, nx: { tags } }),
      );
    }
    function codecWithMetadata(root: string, name: string, index = 'export const codecMetadata = {};\n'): void {
      completeAdapter(root, 'codec', name);
      write(root, `packages/codec-${name}/src/index.ts`, index);
    }

    it('passes when every app depends on every codec and each exports its codecMetadata', () => {
      const root = makeRoot();
      codecWithMetadata(root, 'acme');
      codecWithMetadata(root, 'beta', "export { codecMetadata, betaCodec } from './internal/codec.js';\n");
      completeAdapter(root, 'transport', 'acme-push'); // transports are built from configuration, not discovered
      app(root, 'gateway', { '@pushrelay/codec-acme': '0.1.0', '@pushrelay/codec-beta': '0.1.0' });
      // Optional dependencies count: an app may offer a codec only where it is installed.
      write(
        root,
        'apps/bridge/package.json',
        JSON.stringify({
          name: '@pushrelay/bridge',
          dependencies: { '@pushrelay/codec-beta': '0.1.0' },
          optionalDependencies: { '@pushrelay/codec-acme': '0.1.0' },
          nx: { tags: ['type:app'] },
        }),
      );
      app(root, 'docs', {}, ['type:tool']); // not an app: offers nothing
      const r = check(root);
      expect(r.out).toContain('check-adapters: 3 adapter package(s) complete');
      expect(r.status).toBe(0);
    });

    it('fails for a codec an app does not depend on, or that exports no codecMetadata', () => {
      const root = makeRoot();
      codecWithMetadata(root, 'acme');
      codecWithMetadata(root, 'lost');
      codecWithMetadata(root, 'mute', 'export const muteCodec = {};\n// codecMetadata is only named here\n');
      app(root, 'gateway', { '@pushrelay/codec-acme': '0.1.0', '@pushrelay/codec-mute': '0.1.0' });
      app(root, 'sip-bridge', {
        '@pushrelay/codec-acme': '0.1.0',
        '@pushrelay/codec-lost': '0.1.0',
        '@pushrelay/codec-mute': '0.1.0',
      });
      const r = check(root);
      expect(r.status).toBe(1);
      const problems = r.out
        .split('\n')
        .filter((l) => l.startsWith('  - '))
        .map((l) => l.slice(4));
      expect(problems).toEqual([
        'packages/codec-lost: not reachable from apps/gateway: its package.json does not depend on @pushrelay/codec-lost',
        'packages/codec-mute: src/index.ts does not export codecMetadata (what the apps discover the codec by)',
      ]);
    });
  });

  it('passes on this workspace', () => {
    const r = spawnSync(process.execPath, [script], { encoding: 'utf8', cwd: workspaceRoot });
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
  });
});
