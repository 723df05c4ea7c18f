#!/usr/bin/env node
// Fails when a codec or transport package lacks a piece every adapter must have, listing every
// problem at once. No registry or CI list names the adapters: this walks packages/ instead.
// Every codec must also be reachable from every app (apps/* tagged type:app): the apps offer the
// codecs of the @pushrelay/codec-* packages they depend on, so each must depend on each codec,
// and each codec must export the `codecMetadata` they read (checked where there are apps).
//
// Usage: node tools/scripts/check-adapters.mjs [workspaceRoot]
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const KINDS = {
  codec: { tag: 'type:codec', sections: ['Install', 'Usage', 'Options', 'Mapping', 'Limitations'], fixtures: true },
  transport: {
    tag: 'type:transport',
    sections: ['Install', 'Usage', 'Options', 'Errors', 'Limitations'],
    fixtures: false,
  },
};
const SCOPE_TAG = 'scope:pushrelay';
const APP_TAG = 'type:app';
const CORE = '@pushrelay/core';
const EXPORTS_METADATA = /export\s+(?:const\s+codecMetadata\b|\{[^}]*\bcodecMetadata\b[^}]*\})/;

/** @param {string} path */
function readJson(path) {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * The apps of the workspace, each with the package names it depends on.
 * @param {string} root
 * @returns {{ where: string, dependencies: Set<string> }[]}
 */
function appsOf(root) {
  const appsDir = join(root, 'apps');
  if (!existsSync(appsDir)) return [];
  const apps = [];
  for (const folder of readdirSync(appsDir).sort()) {
    const manifest = readJson(join(appsDir, folder, 'package.json'));
    if (!manifest || !Array.isArray(manifest.nx?.tags) || !manifest.nx.tags.includes(APP_TAG)) continue;
    const names = [...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.optionalDependencies ?? {})];
    apps.push({ where: `apps/${folder}`, dependencies: new Set(names) });
  }
  return apps;
}

/** @param {string} dir */
function listFiles(dir) {
  /** @type {string[]} */
  const files = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) files.push(...listFiles(join(dir, entry.name)));
    else files.push(join(dir, entry.name));
  }
  return files;
}

/** @param {string} markdown */
function headings(markdown) {
  const found = new Set();
  let fenced = false;
  for (const line of markdown.split(/\r?\n/)) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    const m = !fenced && /^#{1,6}\s+(.+?)\s*#*\s*$/.exec(line);
    if (m) found.add(m[1].trim().toLowerCase());
  }
  return found;
}

/**
 * @param {string} root workspace root
 * @returns {{ checked: string[], problems: string[] }}
 */
export function checkAdapters(root) {
  const packagesDir = join(root, 'packages');
  /** @type {string[]} */
  const problems = [];
  /** @type {string[]} */
  const checked = [];
  if (!existsSync(packagesDir)) return { checked, problems };
  const apps = appsOf(root);

  for (const folder of readdirSync(packagesDir).sort()) {
    const kindName = /^(codec|transport)-/.exec(folder)?.[1];
    const dir = join(packagesDir, folder);
    if (!kindName || !statSync(dir).isDirectory()) continue;
    const kind = KINDS[/** @type {'codec' | 'transport'} */ (kindName)];
    const where = `packages/${folder}`;
    const problem = (/** @type {string} */ text) => problems.push(`${where}: ${text}`);
    checked.push(where);

    if (!existsSync(join(dir, 'test', 'conformance.test.ts'))) problem('missing test/conformance.test.ts');

    if (kind.fixtures) {
      const fixtures = join(dir, 'fixtures');
      if (!existsSync(fixtures) || !statSync(fixtures).isDirectory()) problem('missing fixtures/ folder');
      else if (listFiles(fixtures).length === 0) problem('fixtures/ holds no file');
    }

    const readme = join(dir, 'README.md');
    if (!existsSync(readme)) {
      problem('missing README.md');
    } else {
      const found = headings(readFileSync(readme, 'utf8'));
      const missing = kind.sections.filter((s) => !found.has(s.toLowerCase()));
      if (missing.length > 0) problem(`README.md lacks the section(s) ${missing.join(', ')}`);
    }

    const manifestPath = join(dir, 'package.json');
    if (!existsSync(manifestPath)) {
      problem('missing package.json');
      continue;
    }
    let manifest;
    try {
      manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
    } catch (error) {
      problem(`package.json is not valid JSON (${error instanceof Error ? error.message : String(error)})`);
      continue;
    }
    if (manifest.name !== `@pushrelay/${folder}`) {
      problem(`package.json name is ${JSON.stringify(manifest.name)}, expected "@pushrelay/${folder}"`);
    }
    const tags = Array.isArray(manifest.nx?.tags) ? manifest.nx.tags : [];
    for (const tag of [SCOPE_TAG, kind.tag]) {
      if (!tags.includes(tag)) problem(`package.json nx.tags lacks "${tag}"`);
    }
    if (!manifest.peerDependencies || typeof manifest.peerDependencies[CORE] !== 'string') {
      problem(`package.json lacks the peerDependency on ${CORE}`);
    }

    // What the apps need to reach a codec; a workspace without apps (an adapter's own) needs neither.
    if (kindName === 'codec' && apps.length > 0) {
      const index = join(dir, 'src', 'index.ts');
      if (!existsSync(index) || !EXPORTS_METADATA.test(readFileSync(index, 'utf8'))) {
        problem('src/index.ts does not export codecMetadata (what the apps discover the codec by)');
      }
      const name = `@pushrelay/${folder}`;
      for (const app of apps) {
        if (!app.dependencies.has(name)) {
          problem(`not reachable from ${app.where}: its package.json does not depend on ${name}`);
        }
      }
    }
  }
  return { checked, problems };
}

const invokedDirectly = process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  const root = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..', '..'));
  const { checked, problems } = checkAdapters(root);
  if (problems.length > 0) {
    console.error(`check-adapters: ${problems.length} problem(s) in ${checked.length} adapter package(s):`);
    for (const p of problems) console.error(`  - ${p}`);
    process.exit(1);
  }
  console.log(`check-adapters: ${checked.length} adapter package(s) complete`);
}
