import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PROVIDERS, type Codec, type CodecMetadata, type Issue } from '@pushrelay/core';
import { ConfigError } from './config-error.js';

/**
 * A codec package's name: `@pushrelay/codec-<id>`, the id being what its `codecMetadata.id`
 * says (checked when it is loaded). The name alone gives the id, so a configuration can be
 * checked before any package is imported.
 */
const CODEC_PACKAGE = /^@pushrelay\/codec-([a-z][a-z0-9]*(?:-[a-z0-9]+)*)$/;

/** The dependency sections of an app's package.json that can hold a codec package. */
export interface AppManifest {
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

/** An installed codec package: its npm name and the codec id it offers. */
export interface CodecPackage {
  name: string;
  id: string;
}

/** The codecs an app offers, with what each package declares of itself. */
export interface CodecCatalog {
  /** Codec ids, ordered by id. */
  readonly ids: readonly string[];
  readonly byId: ReadonlyMap<string, CodecMetadata>;
  /** Formats whose devices get a key of their own (kept in `binding.secrets`). */
  readonly withPushKey: ReadonlySet<string>;
  /** The codecs named by `ids`, each with its default options; an id not installed is a ConfigError at `path`. */
  create(ids: readonly string[], path?: string): Codec[];
}

/** What turns a package name into its module: the app's own `import()`, so it resolves from the app. */
export type ImportModule = (specifier: string) => Promise<unknown>;

/** Reads an app's package.json (give `new URL('../../package.json', import.meta.url)` from its sources). */
export function readAppManifest(url: URL | string): AppManifest {
  const path = typeof url === 'string' ? url : fileURLToPath(url);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigError([
      { path: '', message: `cannot read the app's package.json at ${path}: ${(error as Error).message}` },
    ]);
  }
  return typeof parsed === 'object' && parsed !== null ? (parsed as AppManifest) : {};
}

/**
 * The codec packages an app depends on (`dependencies` and `optionalDependencies`), by id. The
 * same in the workspace and in a production install, where only these are installed; a package
 * in node_modules the app does not depend on is not offered, so the two never differ.
 */
export function installedCodecPackages(manifest: AppManifest): CodecPackage[] {
  const names = new Set([
    ...Object.keys(manifest.dependencies ?? {}),
    ...Object.keys(manifest.optionalDependencies ?? {}),
  ]);
  const packages: CodecPackage[] = [];
  for (const name of names) {
    const id = CODEC_PACKAGE.exec(name)?.[1];
    if (id) packages.push({ name, id });
  }
  return packages.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Imports each codec package and checks its `codecMetadata`; every problem in one ConfigError. */
export async function loadCodecCatalog(
  packages: readonly CodecPackage[],
  importModule: ImportModule,
): Promise<CodecCatalog> {
  // Each package's problem at its own index, so the error lists them in the manifest's order.
  const results = await Promise.all(
    packages.map(async (pkg): Promise<CodecMetadata | Issue> => {
      let module: unknown;
      try {
        module = await importModule(pkg.name);
      } catch (error) {
        return {
          path: `codecs.${pkg.id}`,
          message: `${pkg.name} is a dependency but cannot be imported (${(error as Error).message}); run npm install`,
        };
      }
      const metadata = (module as { codecMetadata?: unknown } | null)?.codecMetadata;
      const problem = metadataProblem(metadata, pkg);
      return problem ? { path: `codecs.${pkg.id}`, message: `${pkg.name}: ${problem}` } : (metadata as CodecMetadata);
    }),
  );
  const issues = results.filter((r): r is Issue => 'message' in r);
  if (issues.length > 0) throw new ConfigError(issues, 'installed codec packages');
  return codecCatalog(results.filter((r): r is CodecMetadata => !('message' in r)));
}

/** The codecs of an app, discovered from its package.json and imported through its own `import()`. */
export async function discoverCodecs(manifestUrl: URL | string, importModule: ImportModule): Promise<CodecCatalog> {
  return loadCodecCatalog(installedCodecPackages(readAppManifest(manifestUrl)), importModule);
}

function metadataProblem(value: unknown, pkg: CodecPackage): string | undefined {
  if (typeof value !== 'object' || value === null) return 'exports no codecMetadata';
  const m = value as Partial<Record<keyof CodecMetadata, unknown>>;
  if (m.id !== pkg.id) return `codecMetadata.id is ${JSON.stringify(m.id)}, expected "${pkg.id}" (the package name's)`;
  if (!Array.isArray(m.providers) || !m.providers.every((p: unknown) => (PROVIDERS as readonly unknown[]).includes(p)))
    return `codecMetadata.providers must list some of ${PROVIDERS.join(', ')}`;
  if (typeof m.devicePushKey !== 'boolean') return 'codecMetadata.devicePushKey must be a boolean';
  if (typeof m.create !== 'function') return 'codecMetadata.create must be a function';
  return undefined;
}

/** The catalog of already loaded metadata (ordered by id); the apps get theirs from `discoverCodecs`. */
export function codecCatalog(codecs: readonly CodecMetadata[]): CodecCatalog {
  const sorted = [...codecs].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const ids = sorted.map((c) => c.id);
  const byId = new Map(sorted.map((c) => [c.id, c]));
  return {
    ids,
    byId,
    withPushKey: new Set(sorted.filter((c) => c.devicePushKey).map((c) => c.id)),
    create(wanted, path = 'codecs') {
      const issues: Issue[] = [];
      const made: Codec[] = [];
      wanted.forEach((id, i) => {
        const metadata = byId.get(id);
        if (metadata) made.push(metadata.create());
        else
          issues.push({
            path: `${path}[${i}]`,
            message: `codec "${id}" is not installed (installed: ${ids.join(', ') || 'none'}); add @pushrelay/codec-${id} to the app's dependencies`,
          });
      });
      if (issues.length > 0) throw new ConfigError(issues);
      return made;
    },
  };
}
