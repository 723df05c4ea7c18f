import { readJson, updateJson, type Tree } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import codecGenerator from '../src/codec/generator.js';
import transportGenerator from '../src/transport/generator.js';

const CODEC_FILES = [
  'README.md',
  'fixtures/incoming-call.json',
  'package.json',
  'src/index.ts',
  'src/internal/decode.ts',
  'src/internal/encode.ts',
  'test/codec.test.ts',
  'test/conformance.test.ts',
  'tsconfig.json',
  'tsconfig.lib.json',
  'tsconfig.spec.json',
  'vitest.config.ts',
];

function filesUnder(tree: Tree, dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, prefix: string) => {
    for (const child of tree.children(d)) {
      const path = `${d}/${child}`;
      if (tree.isFile(path)) out.push(`${prefix}${child}`);
      else walk(path, `${prefix}${child}/`);
    }
  };
  walk(dir, '');
  return out.sort();
}

describe('codec generator', () => {
  let tree: Tree;
  beforeEach(() => {
    tree = createTreeWithEmptyWorkspace();
    tree.write('tsconfig.json', JSON.stringify({ files: [], references: [{ path: './packages/core' }] }));
  });

  it('writes the whole package, and only through the tree', async () => {
    const before = new Map(tree.listChanges().map((c) => [c.path, c.content?.toString('utf8')]));
    await codecGenerator(tree, { vendor: 'acme-voice', skipInstall: true, skipFormat: true });
    expect(filesUnder(tree, 'packages/codec-acme-voice')).toEqual(CODEC_FILES);
    const touched = tree
      .listChanges()
      .filter((c) => before.get(c.path) !== c.content?.toString('utf8'))
      .map((c) => c.path)
      .filter((p) => !p.startsWith('packages/codec-acme-voice/'));
    expect(touched).toEqual(['tsconfig.json']);
  });

  it('names the package, its tags, its exports and its core peer dependency', async () => {
    await codecGenerator(tree, { vendor: 'acme-voice', skipInstall: true, skipFormat: true });
    expect(readJson(tree, 'packages/codec-acme-voice/package.json')).toEqual({
      name: '@pushrelay/codec-acme-voice',
      version: '0.1.0',
      description: "Translates AcmeVoice call events to and from pushrelay's canonical call notification",
      type: 'module',
      license: 'Apache-2.0',
      sideEffects: false,
      exports: {
        '.': {
          '@pushrelay/source': './src/index.ts',
          types: './dist/index.d.ts',
          import: './dist/index.js',
          default: './dist/index.js',
        },
        './package.json': './package.json',
      },
      main: './dist/index.js',
      types: './dist/index.d.ts',
      files: ['dist', 'src', 'LICENSE', '!**/*.tsbuildinfo'],
      engines: { node: '>=20.19' },
      publishConfig: { access: 'public', provenance: true },
      peerDependencies: { '@pushrelay/core': '^0.1.0' },
      devDependencies: { '@pushrelay/core': '0.1.0', '@pushrelay/testkit': '0.1.0' },
      nx: { tags: ['scope:pushrelay', 'type:codec'] },
    });
  });

  it("takes the repository, homepage, bugs and LICENSE from the root, and ranges from core's and testkit's versions", async () => {
    tree.write('LICENSE', 'Apache License\nVersion 2.0, January 2004\n');
    updateJson(tree, 'package.json', (json) => ({
      ...json,
      license: 'Apache-2.0',
      repository: { type: 'git', url: 'git+https://github.com/acme/relay.git' },
      bugs: { url: 'https://github.com/acme/relay/issues' },
    }));
    tree.write('packages/core/package.json', JSON.stringify({ name: '@pushrelay/core', version: '0.4.2' }));
    tree.write('packages/testkit/package.json', JSON.stringify({ name: '@pushrelay/testkit', version: '0.3.7' }));
    await codecGenerator(tree, { vendor: 'acme', skipInstall: true, skipFormat: true });
    const manifest = readJson(tree, 'packages/codec-acme/package.json');
    expect(Object.keys(manifest).slice(0, 9)).toEqual([
      'name',
      'version',
      'description',
      'type',
      'license',
      'repository',
      'homepage',
      'bugs',
      'sideEffects',
    ]);
    expect(manifest.repository).toEqual({
      type: 'git',
      url: 'git+https://github.com/acme/relay.git',
      directory: 'packages/codec-acme',
    });
    expect(manifest.homepage).toBe('https://github.com/acme/relay/tree/main/packages/codec-acme#readme');
    expect(manifest.bugs).toEqual({ url: 'https://github.com/acme/relay/issues' });
    expect(manifest.peerDependencies).toEqual({ '@pushrelay/core': '^0.4.2' });
    expect(manifest.devDependencies).toEqual({ '@pushrelay/core': '0.4.2', '@pushrelay/testkit': '0.3.7' });
    expect(tree.read('packages/codec-acme/LICENSE', 'utf8')).toBe('Apache License\nVersion 2.0, January 2004\n');

    await transportGenerator(tree, { provider: 'acme-push', skipInstall: true, skipFormat: true });
    const transport = readJson(tree, 'packages/transport-acme-push/package.json');
    expect(transport.repository.directory).toBe('packages/transport-acme-push');
    expect(transport.peerDependencies).toEqual({ '@pushrelay/core': '^0.4.2' });
    expect(transport.devDependencies).toEqual({ '@pushrelay/core': '0.4.2', '@pushrelay/testkit': '0.3.7' });
    expect(tree.exists('packages/transport-acme-push/LICENSE')).toBe(true);
  });

  it("exports the codec under the vendor's names", async () => {
    await codecGenerator(tree, { vendor: 'acme-voice', skipInstall: true, skipFormat: true });
    const index = tree.read('packages/codec-acme-voice/src/index.ts', 'utf8')!;
    expect(index).toContain('export interface AcmeVoiceCodecOptions');
    expect(index).toContain('export function createAcmeVoiceCodec(options: AcmeVoiceCodecOptions = {}): Codec');
    expect(index).toContain('export const acmeVoiceCodec: Codec = createAcmeVoiceCodec();');
    expect(index).toContain("const id = options.id ?? 'acme-voice';");
    const conformance = tree.read('packages/codec-acme-voice/test/conformance.test.ts', 'utf8')!;
    expect(conformance).toContain('describeCodecConformance(');
    expect(conformance).toContain('codec: acmeVoiceCodec');
    expect(tree.read('packages/codec-acme-voice/vitest.config.ts', 'utf8')).toContain(
      "name: '@pushrelay/codec-acme-voice'",
    );
    const fixture = readJson(tree, 'packages/codec-acme-voice/fixtures/incoming-call.json');
    expect(fixture.decode.expected[0].id).toBe('acme-voice.c-1001');
    expect(fixture.encode.binding.format).toBe('acme-voice');
  });

  it('writes a README with every section an adapter needs, in order', async () => {
    await codecGenerator(tree, { vendor: 'acme', skipInstall: true, skipFormat: true });
    const headings = tree
      .read('packages/codec-acme/README.md', 'utf8')!
      .split('\n')
      .filter((l) => l.startsWith('## '));
    expect(headings).toEqual(['## Install', '## Usage', '## Options', '## Mapping', '## Limitations']);
  });

  it('adds the package to the root tsconfig references once', async () => {
    await codecGenerator(tree, { vendor: 'acme', skipInstall: true, skipFormat: true });
    expect(readJson(tree, 'tsconfig.json').references).toEqual([
      { path: './packages/core' },
      { path: './packages/codec-acme' },
    ]);
  });

  it('makes every app depend on the new codec, with the reference nx sync would add, and nothing else', async () => {
    const app = (name: string, tags: string[], dependencies: Record<string, string>) => {
      tree.write(
        `apps/${name}/package.json`,
        JSON.stringify({ name: `@pushrelay/${name}`, dependencies, nx: { tags } }),
      );
      tree.write(
        `apps/${name}/tsconfig.app.json`,
        JSON.stringify({ references: [{ path: '../../packages/core/tsconfig.lib.json' }] }),
      );
    };
    app('gateway', ['scope:pushrelay', 'type:app'], { fastify: '^5', '@pushrelay/core': '0.1.0' });
    app('bridge', ['scope:pushrelay', 'type:app'], { '@pushrelay/core': '0.1.0' });
    app('docs-site', ['type:tool'], {});
    await codecGenerator(tree, { vendor: 'acme-voice', skipInstall: true, skipFormat: true });
    for (const name of ['gateway', 'bridge']) {
      const manifest = readJson(tree, `apps/${name}/package.json`);
      expect(Object.keys(manifest.dependencies)).toEqual([
        '@pushrelay/codec-acme-voice',
        '@pushrelay/core',
        ...(name === 'gateway' ? ['fastify'] : []),
      ]);
      expect(manifest.dependencies['@pushrelay/codec-acme-voice']).toBe('0.1.0');
      expect(readJson(tree, `apps/${name}/tsconfig.app.json`).references).toEqual([
        { path: '../../packages/codec-acme-voice/tsconfig.lib.json' },
        { path: '../../packages/core/tsconfig.lib.json' },
      ]);
    }
    expect(readJson(tree, 'apps/docs-site/package.json').dependencies).toEqual({});
  });

  it('leaves the apps alone when it makes a transport (they build transports from configuration)', async () => {
    tree.write('apps/gateway/package.json', JSON.stringify({ dependencies: {}, nx: { tags: ['type:app'] } }));
    await transportGenerator(tree, { provider: 'acme-push', skipInstall: true, skipFormat: true });
    expect(readJson(tree, 'apps/gateway/package.json').dependencies).toEqual({});
  });

  it('refuses a name that is not kebab-case, before writing anything', async () => {
    for (const vendor of ['Acme', 'acme_voice', '1acme', 'acme--voice', '', 'acme/evil', '../acme']) {
      const fresh = createTreeWithEmptyWorkspace();
      await expect(codecGenerator(fresh, { vendor, skipInstall: true, skipFormat: true }), vendor).rejects.toThrow(
        'must be lower-case',
      );
      expect(fresh.exists('packages'), vendor).toBe(false);
    }
  });

  it('refuses to overwrite an existing package', async () => {
    tree.write('packages/codec-acme/README.md', 'mine');
    await expect(codecGenerator(tree, { vendor: 'acme', skipInstall: true, skipFormat: true })).rejects.toThrow(
      'already exists',
    );
    expect(tree.read('packages/codec-acme/README.md', 'utf8')).toBe('mine');
  });
});

describe('transport generator', () => {
  let tree: Tree;
  beforeEach(() => {
    tree = createTreeWithEmptyWorkspace();
    tree.write('tsconfig.json', JSON.stringify({ files: [], references: [] }));
  });

  it('writes a transport package tagged type:transport with an Errors section', async () => {
    await transportGenerator(tree, { provider: 'acme-push', skipInstall: true, skipFormat: true });
    const root = 'packages/transport-acme-push';
    expect(filesUnder(tree, root)).toEqual([
      'README.md',
      'package.json',
      'src/index.ts',
      'src/internal/answer.ts',
      'test/conformance.test.ts',
      'tsconfig.json',
      'tsconfig.lib.json',
      'tsconfig.spec.json',
      'vitest.config.ts',
    ]);
    const manifest = readJson(tree, `${root}/package.json`);
    expect(manifest.name).toBe('@pushrelay/transport-acme-push');
    expect(manifest.nx).toEqual({ tags: ['scope:pushrelay', 'type:transport'] });
    expect(manifest.peerDependencies).toEqual({ '@pushrelay/core': '^0.1.0' });
    const index = tree.read(`${root}/src/index.ts`, 'utf8')!;
    expect(index).toContain('export interface AcmePushTransportOptions');
    expect(index).toContain('export function createAcmePushTransport(options: AcmePushTransportOptions): Transport');
    const headings = tree
      .read(`${root}/README.md`, 'utf8')!
      .split('\n')
      .filter((l) => l.startsWith('## '));
    expect(headings).toEqual(['## Install', '## Usage', '## Options', '## Errors', '## Limitations']);
    expect(readJson(tree, 'tsconfig.json').references).toEqual([{ path: './packages/transport-acme-push' }]);
  });

  it('serves the provider it is named after, else fcm, else what --serves says', async () => {
    await transportGenerator(tree, { provider: 'hms', skipInstall: true, skipFormat: true });
    await transportGenerator(tree, { provider: 'acme-push', skipInstall: true, skipFormat: true });
    await transportGenerator(tree, { provider: 'acme-ios', serves: 'apns', skipInstall: true, skipFormat: true });
    expect(tree.read('packages/transport-hms/src/index.ts', 'utf8')).toContain("provider: 'hms',");
    expect(tree.read('packages/transport-acme-push/src/index.ts', 'utf8')).toContain("provider: 'fcm',");
    expect(tree.read('packages/transport-acme-ios/src/index.ts', 'utf8')).toContain("provider: 'apns',");
  });

  it('refuses a provider core does not know for --serves', async () => {
    // A value the schema's enum forbids, as a hand-written call could pass it.
    const options = { provider: 'x', serves: 'sms', skipInstall: true, skipFormat: true };
    await expect(
      transportGenerator(tree, options as unknown as Parameters<typeof transportGenerator>[1]),
    ).rejects.toThrow('--serves');
  });
});

describe('generator sources', () => {
  it('never write to disk themselves (the Tree does, so --dry-run holds)', async () => {
    const { readFileSync, readdirSync } = await import('node:fs');
    const src = new URL('../src/', import.meta.url);
    const sources = readdirSync(src, { recursive: true, encoding: 'utf8' }).filter(
      (f) => f.endsWith('.js') && !f.includes('files'),
    );
    expect(sources.length).toBeGreaterThanOrEqual(3);
    for (const file of sources) {
      const text = readFileSync(new URL(file, src), 'utf8');
      expect(text, file).not.toMatch(/from ['"](node:)?fs(\/promises)?['"]|require\(['"](node:)?fs/);
    }
  });
});
