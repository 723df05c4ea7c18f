#!/usr/bin/env node
// Fails, listing every problem at once, when a workspace package is not ready for npm: a published
// package needs the root LICENSE (and `files` naming it), the root's repository (with its own
// `directory`), homepage, bugs, license and engines, `publishConfig` for a public, provenance-signed
// publish, `sideEffects` and a README. Every project's dependencies on other workspace packages must
// be met by their current versions (or npm would look for them in the registry), and published
// packages depend on each other through caret ranges, so one package's new release does not force
// every other onto the exact same version.
//
// Usage: node tools/scripts/check-packages.mjs [--fix] [workspaceRoot]
//   --fix writes the metadata fields that are derived from the root package.json and copies the
//   root LICENSE into the packages; versions and ranges are never rewritten (nx release does that).
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const FOLDERS = ['packages', 'apps', 'tools'];
const DEPENDENCY_FIELDS = ['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies'];
/** Fields written after `license` in this order, so `--fix` leaves the rest of the file where it was. */
const METADATA_ORDER = ['repository', 'homepage', 'bugs'];
export const PUBLISH_CONFIG = { access: 'public', provenance: true };

/**
 * @typedef {{ dir: string, folder: string, manifest: Record<string, any> }} WorkspaceProject
 */

/** @param {string} root */
export function workspaceProjects(root) {
  /** @type {WorkspaceProject[]} */
  const projects = [];
  for (const group of FOLDERS) {
    const groupDir = join(root, group);
    if (!existsSync(groupDir)) continue;
    for (const name of readdirSync(groupDir).sort()) {
      const dir = join(groupDir, name);
      const file = join(dir, 'package.json');
      if (!statSync(dir).isDirectory() || !existsSync(file)) continue;
      projects.push({ dir, folder: `${group}/${name}`, manifest: JSON.parse(readFileSync(file, 'utf8')) });
    }
  }
  return projects;
}

/** The packages npm would publish: every workspace project not marked private. */
export function publishablePackages(root) {
  return workspaceProjects(root).filter((p) => p.manifest.private !== true);
}

/**
 * What a published package's metadata must say, derived from the root package.json.
 * @param {Record<string, any>} rootManifest
 * @param {string} folder e.g. "packages/core"
 */
export function expectedMetadata(rootManifest, folder) {
  const repository = rootManifest.repository;
  if (!repository || typeof repository.url !== 'string') {
    throw new Error('the root package.json needs repository: { type: "git", url } (every package derives its own)');
  }
  const web = repositoryWebUrl(repository.url);
  return {
    license: rootManifest.license,
    repository: { type: 'git', url: repository.url, directory: folder },
    homepage: `${web}/tree/main/${folder}#readme`,
    bugs: rootManifest.bugs ?? { url: `${web}/issues` },
    engines: { node: rootManifest.engines?.node },
    publishConfig: PUBLISH_CONFIG,
  };
}

/** `git+https://github.com/o/r.git` -> `https://github.com/o/r`. */
export function repositoryWebUrl(url) {
  return url.replace(/^git\+/, '').replace(/\.git$/, '');
}

const VERSION = /^(\d+)\.(\d+)\.(\d+)$/;

/**
 * Whether npm would take the workspace package at `version` for `range`. Only the forms this
 * workspace uses are understood: an exact version and a caret range.
 * @param {string} range
 * @param {string} version
 * @returns {boolean | undefined} undefined when the range has another form
 */
export function satisfies(range, version) {
  const v = VERSION.exec(version);
  if (!v) return undefined;
  if (VERSION.test(range)) return range === version;
  const caret = /^\^(\d+)\.(\d+)\.(\d+)$/.exec(range);
  if (!caret) return undefined;
  const [major, minor, patch] = caret.slice(1).map(Number);
  const [vMajor, vMinor, vPatch] = v.slice(1).map(Number);
  const atLeast = vMajor !== major ? vMajor > major : vMinor !== minor ? vMinor > minor : vPatch >= patch;
  if (!atLeast) return false;
  if (major > 0) return vMajor === major;
  if (minor > 0) return vMajor === 0 && vMinor === minor;
  return vMajor === 0 && vMinor === 0 && vPatch === patch;
}

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

/**
 * @param {string} root workspace root
 * @returns {{ checked: string[], problems: string[] }}
 */
export function checkPackages(root) {
  /** @type {string[]} */
  const problems = [];
  const rootManifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const license = existsSync(join(root, 'LICENSE')) ? readFileSync(join(root, 'LICENSE'), 'utf8') : undefined;
  if (license === undefined) problems.push('LICENSE: missing at the workspace root');
  const projects = workspaceProjects(root);
  const versions = new Map(projects.map((p) => [p.manifest.name, p.manifest.version]));
  const published = new Set(projects.filter((p) => p.manifest.private !== true).map((p) => p.manifest.name));
  const checked = [];

  for (const { dir, folder, manifest } of projects) {
    const problem = (/** @type {string} */ text) => problems.push(`${folder}: ${text}`);
    const isPublished = manifest.private !== true;

    for (const field of DEPENDENCY_FIELDS) {
      for (const [name, range] of Object.entries(manifest[field] ?? {})) {
        const version = versions.get(name);
        if (version === undefined) continue;
        const met = satisfies(String(range), version);
        if (met === undefined) problem(`${field}.${name} is "${range}": use "${version}" or "^${version}"`);
        else if (!met)
          problem(`${field}.${name} is "${range}", which the workspace's ${name}@${version} does not meet`);
        else if (isPublished && published.has(name) && field !== 'devDependencies' && !String(range).startsWith('^')) {
          problem(`${field}.${name} is "${range}": a published package takes another through a caret range`);
        }
      }
    }
    if (!isPublished) continue;
    checked.push(folder);

    let expected;
    try {
      expected = expectedMetadata(rootManifest, folder);
    } catch (error) {
      problems.push(`package.json: ${/** @type {Error} */ (error).message}`);
      break;
    }
    for (const [key, value] of Object.entries(expected)) {
      if (!same(key === 'engines' ? { node: manifest.engines?.node } : manifest[key], value)) {
        problem(`${key} must be ${JSON.stringify(value)}, not ${JSON.stringify(manifest[key])}`);
      }
    }
    if (manifest.type !== 'module') problem('type must be "module" (the packages are ESM-only)');
    if (manifest.sideEffects === undefined)
      problem('sideEffects must say which files have side effects (false if none)');
    if (!manifest.exports?.['./package.json']) problem('exports must include "./package.json"');
    if (!Array.isArray(manifest.files) || !manifest.files.includes('LICENSE')) problem('files must list "LICENSE"');
    if (!existsSync(join(dir, 'README.md'))) problem('missing README.md');
    const ownLicense = existsSync(join(dir, 'LICENSE')) ? readFileSync(join(dir, 'LICENSE'), 'utf8') : undefined;
    if (ownLicense === undefined) problem('missing LICENSE (a copy of the root LICENSE)');
    else if (license !== undefined && ownLicense !== license) problem('LICENSE differs from the root LICENSE');
  }
  return { checked, problems };
}

/**
 * Writes the derived metadata into every published package and copies the root LICENSE.
 * @param {string} root
 * @returns {string[]} the folders whose files changed
 */
export function fixPackages(root) {
  const rootManifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const license = readFileSync(join(root, 'LICENSE'), 'utf8');
  const changed = [];
  for (const { dir, folder, manifest } of publishablePackages(root)) {
    const before = JSON.stringify(manifest);
    const updated = withMetadata(manifest, expectedMetadata(rootManifest, folder));
    let touched = false;
    if (JSON.stringify(updated) !== before) {
      writeFileSync(join(dir, 'package.json'), `${JSON.stringify(updated, null, 2)}\n`);
      touched = true;
    }
    const licenseFile = join(dir, 'LICENSE');
    if (!existsSync(licenseFile) || readFileSync(licenseFile, 'utf8') !== license) {
      writeFileSync(licenseFile, license);
      touched = true;
    }
    if (touched) changed.push(folder);
  }
  return changed;
}

/**
 * The manifest with the metadata set: repository, homepage and bugs right after `license`,
 * `engines.node`, `publishConfig` after `engines`, "LICENSE" in `files`; other keys keep their place.
 * @param {Record<string, any>} manifest
 * @param {ReturnType<typeof expectedMetadata>} metadata
 */
export function withMetadata(manifest, metadata) {
  const files = Array.isArray(manifest.files) ? [...manifest.files] : ['dist'];
  if (!files.includes('LICENSE')) {
    const negated = files.findIndex((f) => String(f).startsWith('!'));
    files.splice(negated === -1 ? files.length : negated, 0, 'LICENSE');
  }
  const source = { ...manifest, license: metadata.license, files };
  /** @type {Record<string, any>} */
  const out = {};
  for (const [key, value] of Object.entries(source)) {
    if (METADATA_ORDER.includes(key) || key === 'publishConfig') continue;
    out[key] = key === 'engines' ? { ...value, node: metadata.engines.node } : value;
    if (key === 'license') for (const k of METADATA_ORDER) out[k] = metadata[/** @type {'repository'} */ (k)];
    if (key === 'engines') out.publishConfig = metadata.publishConfig;
  }
  if (!('engines' in out)) {
    out.engines = metadata.engines;
    out.publishConfig = metadata.publishConfig;
  }
  return out;
}

const invokedDirectly = process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  const args = process.argv.slice(2);
  const fix = args.includes('--fix');
  const root = resolve(
    args.find((a) => !a.startsWith('--')) ?? join(dirname(fileURLToPath(import.meta.url)), '..', '..'),
  );
  if (fix) {
    const changed = fixPackages(root);
    console.log(changed.length ? `updated ${changed.join(', ')}` : 'nothing to update');
  }
  const { checked, problems } = checkPackages(root);
  if (problems.length > 0) {
    console.error(`check-packages: ${problems.length} problem(s):`);
    for (const p of problems) console.error(`  - ${p}`);
    console.error('`node tools/scripts/check-packages.mjs --fix` writes the metadata and LICENSE copies.');
    process.exit(1);
  }
  console.log(`check-packages: ${checked.length} published package(s) ready for npm`);
}
