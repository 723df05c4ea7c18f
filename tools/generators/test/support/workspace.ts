import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The real workspace these tests belong to. */
export const workspaceRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');

const ROOT_FILES = [
  'package.json',
  'LICENSE',
  'package-lock.json',
  'nx.json',
  'tsconfig.base.json',
  'eslint.config.mjs',
  'vitest.shared.mjs',
  'vitest.config.ts',
];
/** The projects every adapter needs: core, the conformance kits and the generators themselves. */
const PROJECTS = ['packages/core', 'packages/testkit', 'tools/generators'];
/** What a copy of the whole workspace takes from the root besides ROOT_FILES: the formatter's settings. */
const WHOLE_ROOT_FILES = ['.prettierrc.json', '.prettierignore'];

/** Every project of the real workspace (a folder of packages/, apps/ or tools/ with a package.json). */
function allProjects(): string[] {
  return ['packages', 'apps', 'tools'].flatMap((group) =>
    readdirSync(join(workspaceRoot, group))
      .sort()
      .map((folder) => `${group}/${folder}`)
      .filter((project) => existsSync(join(workspaceRoot, project, 'package.json'))),
  );
}
const SKIPPED = new Set(['node_modules', 'dist', 'out-tsc', '.nx', 'coverage']);

export const childEnv: NodeJS.ProcessEnv = {
  ...process.env,
  NX_DAEMON: 'false',
  NX_NO_CLOUD: 'true',
  NX_TUI: 'false',
  FORCE_COLOR: '0',
  CI: 'true',
  NX_ISOLATE_PLUGINS: 'false',
};
// A vitest run must not leak its own worker settings into the vitest the child nx starts.
for (const key of Object.keys(childEnv)) {
  if (key.startsWith('VITEST') || key === 'TEST' || key === 'NODE_OPTIONS') delete childEnv[key];
}

export interface RunResult {
  status: number;
  output: string;
}

/**
 * A throwaway copy of the workspace in the OS temp folder: the root config, core, testkit and the
 * generators, with node_modules linked to the real one except for the @pushrelay links, which point
 * into the copy. Generating and checking packages there never touches the real tree.
 */
export class TempWorkspace {
  readonly root: string;
  private readonly projects: readonly string[];
  private readonly rootFiles: readonly string[];

  /** `whole`: copy every project (the apps too), not only what an adapter needs. */
  constructor(prefix = 'pushrelay-ws-', options: { whole?: boolean } = {}) {
    this.projects = options.whole ? allProjects() : PROJECTS;
    this.rootFiles = options.whole ? [...ROOT_FILES, ...WHOLE_ROOT_FILES] : ROOT_FILES;
    this.root = realpathSync(mkdtempSync(join(tmpdir(), prefix)));
    try {
      this.populate();
    } catch (error) {
      this.remove();
      throw error;
    }
  }

  private populate(): void {
    for (const file of this.rootFiles) cpSync(join(workspaceRoot, file), join(this.root, file));
    if (this.projects === PROJECTS) {
      // Root references are rewritten to the copied projects only; generators append their own.
      const references = PROJECTS.map((p) => `    { "path": "./${p}" }`).join(',\n');
      this.write(
        'tsconfig.json',
        `{\n  "extends": "./tsconfig.base.json",\n  "compileOnSave": false,\n  "files": [],\n  "references": [\n${references}\n  ]\n}\n`,
      );
    } else cpSync(join(workspaceRoot, 'tsconfig.json'), join(this.root, 'tsconfig.json'));
    for (const project of this.projects) {
      cpSync(join(workspaceRoot, project), join(this.root, project), {
        recursive: true,
        filter: (src) => !SKIPPED.has(basename(src)),
      });
    }
    const realModules = realpathSync(join(workspaceRoot, 'node_modules'));
    const modules = join(this.root, 'node_modules');
    mkdirSync(join(modules, '@pushrelay'), { recursive: true });
    for (const entry of readdirSync(realModules)) {
      if (entry === '@pushrelay' || entry === '.package-lock.json' || entry.startsWith('.vite')) continue;
      symlinkSync(join(realModules, entry), join(modules, entry));
    }
    for (const project of this.projects) this.link(project);
  }

  /** Links a workspace package into node_modules/@pushrelay, as npm install would. */
  link(projectRoot: string): void {
    const name = `${projectRoot === 'tools/generators' ? 'tools' : basename(projectRoot)}`;
    const target = join(this.root, 'node_modules', '@pushrelay', name);
    if (!existsSync(target)) symlinkSync(relative(dirname(target), join(this.root, projectRoot)), target);
  }

  path(...parts: string[]): string {
    return join(this.root, ...parts);
  }

  write(file: string, text: string): void {
    mkdirSync(dirname(this.path(file)), { recursive: true });
    writeFileSync(this.path(file), text);
  }

  read(file: string): string {
    return readFileSync(this.path(file), 'utf8');
  }

  /** Runs the workspace's own nx with the given arguments in the copy. */
  nx(...args: string[]): RunResult {
    return this.node(join(this.root, 'node_modules', 'nx', 'dist', 'bin', 'nx.js'), ...args);
  }

  node(...args: string[]): RunResult {
    const r = spawnSync(process.execPath, args, {
      cwd: this.root,
      env: childEnv,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    return { status: r.status ?? 1, output: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
  }

  remove(): void {
    rmSync(this.root, { recursive: true, force: true, maxRetries: 3 });
  }
}
