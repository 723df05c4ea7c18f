import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkPackagesScript, packageChecks } from './support/scripts.js';
import { run, workspaceRoot } from './support/workspace.js';

const { checkPackages, fixPackages, satisfies } = packageChecks;

const LICENSE = 'Apache License\nVersion 2.0, January 2004\n';
const ROOT = {
  name: 'ws',
  private: true,
  license: 'Apache-2.0',
  repository: { type: 'git', url: 'git+https://github.com/acme/relay.git' },
  bugs: { url: 'https://github.com/acme/relay/issues' },
  engines: { node: '>=20.19' },
};

function ready(folder: string, extra: Record<string, unknown> = {}) {
  return {
    name: `@pushrelay/${folder.split('/')[1]}`,
    version: '0.1.0',
    type: 'module',
    license: 'Apache-2.0',
    repository: { type: 'git', url: 'git+https://github.com/acme/relay.git', directory: folder },
    homepage: `https://github.com/acme/relay/tree/main/${folder}#readme`,
    bugs: { url: 'https://github.com/acme/relay/issues' },
    sideEffects: false,
    exports: { '.': './dist/index.js', './package.json': './package.json' },
    files: ['dist', 'LICENSE'],
    engines: { node: '>=20.19' },
    publishConfig: { access: 'public', provenance: true },
    ...extra,
  };
}

let roots: string[] = [];
afterEach(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
  roots = [];
});

function workspace(files: Record<string, unknown>): string {
  const root = mkdtempSync(join(tmpdir(), 'pushrelay-manifests-'));
  roots.push(root);
  for (const [file, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, file)), { recursive: true });
    writeFileSync(join(root, file), typeof content === 'string' ? content : `${JSON.stringify(content, null, 2)}\n`);
  }
  return root;
}

describe('check-packages', () => {
  it('passes on this workspace: every published package is ready for npm', () => {
    const { checked, problems } = checkPackages(workspaceRoot);
    expect(problems).toEqual([]);
    expect(checked).toEqual(expect.arrayContaining(['packages/core', 'packages/testkit', 'packages/codec-signalwire']));
    const cli = run(process.execPath, [checkPackagesScript], workspaceRoot);
    expect(cli.status, cli.output).toBe(0);
    expect(cli.output).toContain(`${checked.length} published package(s) ready for npm`);
  });

  it('meets exact versions and caret ranges as npm does', () => {
    const cases: Array<[string, string, boolean | undefined]> = [
      ['0.1.0', '0.1.0', true],
      ['0.1.0', '0.1.1', false],
      ['^0.1.0', '0.1.7', true],
      ['^0.1.2', '0.1.1', false],
      ['^0.1.0', '0.2.0', false],
      ['^0.0.3', '0.0.3', true],
      ['^0.0.3', '0.0.4', false],
      ['^1.2.0', '1.9.0', true],
      ['^1.2.0', '2.0.0', false],
      ['~0.1.0', '0.1.0', undefined],
      ['*', '0.1.0', undefined],
    ];
    for (const [range, version, expected] of cases)
      expect(satisfies(range, version), `${range} ${version}`).toBe(expected);
  });

  it('lists every problem: metadata, LICENSE, exact peer pins, and pins the workspace no longer meets', () => {
    const root = workspace({
      'package.json': ROOT,
      LICENSE,
      'packages/core/package.json': ready('packages/core', { version: '0.2.0' }),
      'packages/core/README.md': '# core\n',
      'packages/core/LICENSE': LICENSE,
      'packages/codec-acme/package.json': {
        ...ready('packages/codec-acme'),
        repository: undefined,
        publishConfig: { access: 'public' },
        files: ['dist'],
        peerDependencies: { '@pushrelay/core': '0.2.0' },
        devDependencies: { '@pushrelay/core': '~0.2.0' },
      },
      'packages/codec-acme/README.md': '# acme\n',
      'apps/gateway/package.json': {
        name: '@pushrelay/gateway',
        version: '0.1.0',
        private: true,
        dependencies: { '@pushrelay/core': '0.1.0', '@pushrelay/codec-acme': '^0.1.0' },
      },
    });
    const { checked, problems } = checkPackages(root);
    expect(checked).toEqual(['packages/codec-acme', 'packages/core']);
    expect(problems).toEqual([
      'packages/codec-acme: devDependencies.@pushrelay/core is "~0.2.0": use "0.2.0" or "^0.2.0"',
      'packages/codec-acme: peerDependencies.@pushrelay/core is "0.2.0": a published package takes another through a caret range',
      'packages/codec-acme: repository must be {"type":"git","url":"git+https://github.com/acme/relay.git","directory":"packages/codec-acme"}, not undefined',
      'packages/codec-acme: publishConfig must be {"access":"public","provenance":true}, not {"access":"public"}',
      'packages/codec-acme: files must list "LICENSE"',
      'packages/codec-acme: missing LICENSE (a copy of the root LICENSE)',
      'apps/gateway: dependencies.@pushrelay/core is "0.1.0", which the workspace\'s @pushrelay/core@0.2.0 does not meet',
    ]);
    const cli = run(process.execPath, [checkPackagesScript, root], root);
    expect(cli.status).toBe(1);
    expect(cli.output).toContain('7 problem(s)');
  });

  it('--fix writes the derived metadata in place and copies the LICENSE, leaving versions and ranges alone', () => {
    const bare = {
      name: '@pushrelay/codec-acme',
      version: '0.1.0',
      description: 'x',
      type: 'module',
      license: 'MIT',
      sideEffects: false,
      exports: { '.': './dist/index.js', './package.json': './package.json' },
      files: ['dist', 'src', '!**/*.tsbuildinfo'],
      engines: { node: '>=18' },
      peerDependencies: { '@pushrelay/core': '^0.1.0' },
      nx: { tags: ['type:codec'] },
    };
    const root = workspace({
      'package.json': ROOT,
      LICENSE,
      'packages/core/package.json': ready('packages/core'),
      'packages/core/README.md': '# core\n',
      'packages/core/LICENSE': 'an old text\n',
      'packages/codec-acme/package.json': bare,
      'packages/codec-acme/README.md': '# acme\n',
    });
    expect(checkPackages(root).problems.length).toBeGreaterThan(0);
    expect(fixPackages(root)).toEqual(['packages/codec-acme', 'packages/core']);
    expect(checkPackages(root).problems).toEqual([]);
    const fixed = JSON.parse(readFileSync(join(root, 'packages/codec-acme/package.json'), 'utf8'));
    expect(Object.keys(fixed)).toEqual([
      'name',
      'version',
      'description',
      'type',
      'license',
      'repository',
      'homepage',
      'bugs',
      'sideEffects',
      'exports',
      'files',
      'engines',
      'publishConfig',
      'peerDependencies',
      'nx',
    ]);
    expect(fixed.license).toBe('Apache-2.0');
    expect(fixed.files).toEqual(['dist', 'src', 'LICENSE', '!**/*.tsbuildinfo']);
    expect(fixed.engines).toEqual({ node: '>=20.19' });
    expect(fixed.peerDependencies).toEqual(bare.peerDependencies);
    expect(readFileSync(join(root, 'packages/core/LICENSE'), 'utf8')).toBe(LICENSE);
    expect(fixPackages(root)).toEqual([]);
  });
});
