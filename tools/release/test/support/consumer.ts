import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import semver from 'semver';
import { childEnv, must, workspaceRoot } from './workspace.js';
import type { Manifest } from './scripts.js';

/** A workspace package that is published to npm, and the tarball `npm pack` made of it. */
export interface PackedPackage {
  name: string;
  version: string;
  folder: string;
  tarball: string;
}

interface PublishedManifest extends Manifest {
  private?: boolean;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

function readManifest(dir: string): PublishedManifest {
  return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PublishedManifest;
}

/** Every package under packages/ and apps/ that is not private, by folder name. */
export function publishablePackages(): { name: string; folder: string }[] {
  const manifests = must('git', ['ls-files', '-z', 'packages/*/package.json', 'apps/*/package.json'], workspaceRoot)
    .split('\0')
    .filter(Boolean)
    .map((file) => ({ folder: dirname(file), manifest: readManifest(join(workspaceRoot, dirname(file))) }));
  return manifests
    .filter(({ manifest }) => manifest.private !== true)
    .map(({ folder, manifest }) => ({ name: manifest.name, folder }));
}

/** Builds the packages as a release does and packs each into `destination`. */
export function buildAndPack(destination: string): PackedPackage[] {
  const packages = publishablePackages();
  must(
    process.execPath,
    [
      join(workspaceRoot, 'node_modules', 'typescript', 'bin', 'tsc'),
      '--build',
      // An app that is also a library (the gateway) builds from its tsconfig.app.json.
      ...packages.map((p) => `${p.folder}/${p.folder.startsWith('apps/') ? 'tsconfig.app.json' : 'tsconfig.lib.json'}`),
    ],
    workspaceRoot,
  );
  const output = must(
    'npm',
    [
      'pack',
      '--json',
      '--ignore-scripts',
      '--pack-destination',
      destination,
      ...packages.flatMap((p) => ['--workspace', p.folder]),
    ],
    workspaceRoot,
    childEnv({ npm_config_offline: 'true' }),
  );
  // npm prints lifecycle noise before the JSON on some versions.
  const packed = JSON.parse(output.slice(output.indexOf('['))) as { name: string; version: string; filename: string }[];
  return packed.map((p) => {
    const folder = packages.find((q) => q.name === p.name)?.folder;
    if (!folder) throw new Error(`npm packed ${p.name}, which is not a publishable workspace package`);
    return { name: p.name, version: p.version, folder, tarball: join(destination, p.filename) };
  });
}

/**
 * A fresh TypeScript project in the OS temp folder, outside the workspace, that has the tarballs
 * installed as npm would extract them. The registry is not reachable from tests, so each
 * third-party dependency the installed packages declare is linked from the workspace's own
 * install after checking that its version meets the declared range: a package that uses a
 * dependency it does not declare fails to load here, as it would for a user.
 */
export class ConsumerProject {
  readonly root: string;

  constructor(fixture: string, packed: PackedPackage[], prefix = 'pushrelay-consumer-') {
    this.root = realpathSync(mkdtempSync(join(tmpdir(), prefix)));
    try {
      cpSync(fixture, this.root, { recursive: true });
      for (const p of packed) this.extract(p);
      this.linkThirdParty(packed, ['typescript', '@types/node']);
      writeFileSync(
        join(this.root, 'package.json'),
        `${JSON.stringify(
          {
            name: 'pushrelay-consumer',
            private: true,
            type: 'module',
            dependencies: Object.fromEntries(packed.map((p) => [p.name, `file:${p.tarball}`])),
          },
          null,
          2,
        )}\n`,
      );
    } catch (error) {
      this.remove();
      throw error;
    }
  }

  private extract(p: PackedPackage): void {
    const target = join(this.root, 'node_modules', ...p.name.split('/'));
    mkdirSync(target, { recursive: true });
    must('tar', ['-xzf', p.tarball, '-C', target, '--strip-components=1'], this.root);
  }

  private linkThirdParty(packed: PackedPackage[], tools: string[]): void {
    const ours = new Set(packed.map((p) => p.name));
    const wanted = new Map<string, { range: string; by: string }[]>();
    for (const p of packed) {
      const manifest = readManifest(join(this.root, 'node_modules', ...p.name.split('/')));
      const required = Object.entries(manifest.peerDependencies ?? {}).filter(
        ([name]) => manifest.peerDependenciesMeta?.[name]?.optional !== true,
      );
      for (const [name, range] of [...Object.entries(manifest.dependencies ?? {}), ...required]) {
        if (ours.has(name)) continue;
        wanted.set(name, [...(wanted.get(name) ?? []), { range, by: p.name }]);
      }
    }
    for (const tool of tools) wanted.set(tool, wanted.get(tool) ?? []);
    const problems: string[] = [];
    for (const [name, needs] of wanted) {
      const source = join(workspaceRoot, 'node_modules', ...name.split('/'));
      if (!existsSync(source)) {
        problems.push(`${name}, needed by ${needs.map((n) => n.by).join(', ')}, is not in the workspace's install`);
        continue;
      }
      const version = readManifest(source).version;
      for (const need of needs) {
        if (!semver.satisfies(version, need.range)) {
          problems.push(`${need.by} wants ${name}@${need.range}; the workspace has ${version}`);
        }
      }
      const link = join(this.root, 'node_modules', ...name.split('/'));
      mkdirSync(dirname(link), { recursive: true });
      symlinkSync(realpathSync(source), link, 'dir');
    }
    if (problems.length > 0) throw new Error(`cannot install the tarballs:\n${problems.join('\n')}`);
  }

  path(...parts: string[]): string {
    return join(this.root, ...parts);
  }

  /** Runs node (or a script under node_modules/.bin-free paths) in the project. */
  node(...args: string[]): string {
    return must(process.execPath, args, this.root, childEnv());
  }

  remove(): void {
    rmSync(this.root, { recursive: true, force: true, maxRetries: 3 });
  }
}
