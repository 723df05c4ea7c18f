// @ts-check
import {
  formatFiles,
  generateFiles,
  installPackagesTask,
  joinPathFragments,
  names,
  readJson,
  updateJson,
} from '@nx/devkit';

/** Package folder names: lower-case words joined by single dashes, so npm, Nx and TS names agree. */
export const ADAPTER_NAME = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;

/**
 * @typedef {object} ScaffoldOptions
 * @property {'codec' | 'transport'} kind
 * @property {string} name the vendor or provider, kebab-case
 * @property {string} templateDir
 * @property {Record<string, unknown>} [substitutions]
 * @property {boolean} [skipFormat]
 * @property {boolean} [skipInstall]
 * @property {boolean} [offerToApps] make every app depend on the new package (what codec discovery reads)
 */

/**
 * The names one adapter is known by, from its kebab-case name.
 * @param {'codec' | 'transport'} kind
 * @param {string} name
 */
export function adapterNames(kind, name) {
  if (typeof name !== 'string' || !ADAPTER_NAME.test(name)) {
    throw new Error(
      `${kind} name ${JSON.stringify(name)} must be lower-case letters and digits in dash-separated words, e.g. "acme" or "acme-voice"`,
    );
  }
  const n = names(name);
  return {
    name: n.fileName,
    className: n.className,
    propertyName: n.propertyName,
    displayName: n.className,
    projectRoot: `packages/${kind}-${n.fileName}`,
    packageName: `@pushrelay/${kind}-${n.fileName}`,
  };
}

/**
 * Writes one adapter package through the Tree only (so `--dry-run` writes nothing) and adds it to
 * the root tsconfig.json references, exactly as `nx sync` would.
 * @param {import('@nx/devkit').Tree} tree
 * @param {ScaffoldOptions} options
 * @returns {Promise<import('@nx/devkit').GeneratorCallback>}
 */
export async function scaffoldAdapter(tree, options) {
  const adapter = adapterNames(options.kind, options.name);
  if (tree.exists(adapter.projectRoot)) {
    throw new Error(`${adapter.projectRoot} already exists; pick another name or remove it first`);
  }
  generateFiles(tree, options.templateDir, adapter.projectRoot, {
    ...adapter,
    coreVersion: workspaceVersion(tree, 'packages/core'),
    testkitVersion: workspaceVersion(tree, 'packages/testkit'),
    ...options.substitutions,
  });
  addPublishMetadata(tree, adapter.projectRoot);
  addRootReference(tree, adapter.projectRoot);
  if (options.offerToApps) addToApps(tree, adapter);
  if (!options.skipFormat) await formatFiles(tree);
  return () => {
    // npm links the new workspace package and records it in package-lock.json (npm ci needs both).
    if (!options.skipInstall) installPackagesTask(tree, true);
  };
}

/**
 * Each app (a project under apps/ tagged `type:app`) offers the codecs of the packages it depends
 * on, so the new package becomes one of its dependencies, with the tsconfig.app.json reference
 * `nx sync` would add for it. This is the `npm install <package> -w <app>` an operator would run;
 * the apps' code is left alone.
 * @param {import('@nx/devkit').Tree} tree
 * @param {{ projectRoot: string, packageName: string }} adapter
 */
function addToApps(tree, adapter) {
  if (!tree.exists('apps')) return;
  const version = String(readJson(tree, `${adapter.projectRoot}/package.json`).version);
  for (const app of tree.children('apps').sort()) {
    const manifest = `apps/${app}/package.json`;
    if (!tree.exists(manifest)) continue;
    const tags = readJson(tree, manifest).nx?.tags;
    if (!Array.isArray(tags) || !tags.includes('type:app')) continue;
    updateJson(tree, manifest, (json) => {
      const dependencies = { ...json.dependencies, [adapter.packageName]: version };
      // npm keeps dependencies sorted; so does this, so a later `npm install` changes nothing.
      json.dependencies = Object.fromEntries(Object.entries(dependencies).sort(([a], [b]) => (a < b ? -1 : 1)));
      return json;
    });
    const tsconfig = `apps/${app}/tsconfig.app.json`;
    if (!tree.exists(tsconfig)) continue;
    const path = `../../${joinPathFragments(adapter.projectRoot)}/tsconfig.lib.json`;
    updateJson(tree, tsconfig, (json) => {
      /** @type {Array<{ path: string }>} */
      const references = Array.isArray(json.references) ? json.references : [];
      // First, as nx sync puts a new reference, so tsc builds dependencies before dependents.
      if (!references.some((r) => r.path === path)) references.unshift({ path });
      return { ...json, references };
    });
  }
}

/**
 * @param {import('@nx/devkit').Tree} tree
 * @param {string} projectRoot
 */
function addRootReference(tree, projectRoot) {
  if (!tree.exists('tsconfig.json')) return;
  const path = `./${joinPathFragments(projectRoot)}`;
  updateJson(tree, 'tsconfig.json', (json) => {
    /** @type {Array<{ path: string }>} */
    const references = Array.isArray(json.references) ? json.references : [];
    if (!references.some((r) => r.path === path || r.path === projectRoot)) references.push({ path });
    return { ...json, references };
  });
}

/**
 * The version a workspace package has now, which a new adapter's ranges must meet for npm to link
 * it (the initial 0.1.0 in a workspace without it).
 * @param {import('@nx/devkit').Tree} tree
 * @param {string} projectRoot
 */
function workspaceVersion(tree, projectRoot) {
  const file = `${projectRoot}/package.json`;
  return tree.exists(file) ? String(readJson(tree, file).version) : '0.1.0';
}

/**
 * What npm and a provenance publish need and the root already says once: the repository (with
 * this package's directory), homepage and bugs after `license`, and a copy of the root LICENSE.
 * tools/scripts/check-packages.mjs checks the same fields.
 * @param {import('@nx/devkit').Tree} tree
 * @param {string} projectRoot
 */
function addPublishMetadata(tree, projectRoot) {
  const license = tree.exists('LICENSE') ? tree.read('LICENSE') : null;
  if (license) tree.write(`${projectRoot}/LICENSE`, license);
  const root = tree.exists('package.json') ? readJson(tree, 'package.json') : {};
  const url = root.repository?.url;
  if (typeof url !== 'string') return;
  const web = url.replace(/^git\+/, '').replace(/\.git$/, '');
  const metadata = {
    repository: { type: 'git', url, directory: projectRoot },
    homepage: `${web}/tree/main/${projectRoot}#readme`,
    bugs: root.bugs ?? { url: `${web}/issues` },
  };
  updateJson(tree, `${projectRoot}/package.json`, (json) => {
    /** @type {Record<string, unknown>} */
    const out = {};
    for (const [key, value] of Object.entries(json)) {
      if (key in metadata) continue;
      out[key] = value;
      if (key === 'license') Object.assign(out, metadata);
    }
    return out;
  });
}
