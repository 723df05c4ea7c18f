import { spawnSync } from 'node:child_process';
import {
  appendFileSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  unlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Manifest } from './scripts.js';

/** The real workspace these tests belong to. */
export const workspaceRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');

export interface RunResult {
  status: number;
  output: string;
}

/** A child's environment: no daemon, cloud or colours, no vitest worker settings, a git identity. */
export function childEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NX_DAEMON: 'false',
    NX_NO_CLOUD: 'true',
    NX_TUI: 'false',
    NX_ISOLATE_PLUGINS: 'false',
    FORCE_COLOR: '0',
    NO_COLOR: '1',
    GIT_AUTHOR_NAME: 'Release Test',
    GIT_AUTHOR_EMAIL: 'release-test@example.com',
    GIT_COMMITTER_NAME: 'Release Test',
    GIT_COMMITTER_EMAIL: 'release-test@example.com',
    ...extra,
  };
  for (const key of Object.keys(env)) {
    if (key.startsWith('VITEST') || key === 'TEST' || key === 'NODE_OPTIONS' || key === 'NX_WORKSPACE_ROOT_PATH') {
      delete env[key];
    }
  }
  return env;
}

export function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = childEnv()): RunResult {
  const r = spawnSync(command, args, { cwd, env, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  return { status: r.status ?? 1, output: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
}

/** Runs a command and throws with its output when it fails. */
export function must(command: string, args: string[], cwd: string, env?: NodeJS.ProcessEnv): string {
  const r = run(command, args, cwd, env);
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${r.status} in ${cwd}:\n${r.output}`);
  return r.output;
}

/**
 * A clone of this repository (its whole history) in the OS temp folder, with the work tree's
 * uncommitted changes committed on top, and node_modules linked to the real one so nx runs there.
 * Releasing in it never touches the real repository or its tags.
 */
export class RepositoryCopy {
  readonly root: string;

  constructor(prefix = 'pushrelay-release-') {
    this.root = realpathSync(mkdtempSync(join(tmpdir(), prefix)));
    try {
      must('git', ['clone', '--quiet', '--no-hardlinks', workspaceRoot, this.root], tmpdir());
      this.overlayWorkTree();
      symlinkSync(realpathSync(join(workspaceRoot, 'node_modules')), join(this.root, 'node_modules'));
      // .gitignore's `node_modules/` matches folders, not this link.
      appendFileSync(join(this.root, '.git', 'info', 'exclude'), '/node_modules\n');
    } catch (error) {
      this.remove();
      throw error;
    }
  }

  private overlayWorkTree(): void {
    // Staged or not, against the last commit; untracked files too, ignored ones never.
    const list = (...args: string[]) => must('git', args, workspaceRoot).split('\0').filter(Boolean);
    const changed = new Set([
      ...list('diff', '--name-only', '--no-renames', '-z', 'HEAD'),
      ...list('ls-files', '--others', '--exclude-standard', '-z'),
    ]);
    for (const file of changed) {
      const source = join(workspaceRoot, file);
      if (existsSync(source)) {
        mkdirSync(dirname(join(this.root, file)), { recursive: true });
        cpSync(source, join(this.root, file));
      } else {
        rmSync(join(this.root, file), { force: true });
      }
    }
    if (must('git', ['status', '--porcelain'], this.root).trim() !== '') {
      must('git', ['add', '--all'], this.root, childEnv());
      must('git', ['commit', '--quiet', '--no-verify', '-m', 'chore: uncommitted work tree'], this.root, childEnv());
    }
  }

  path(...parts: string[]): string {
    return join(this.root, ...parts);
  }

  read(file: string): string {
    return readFileSync(this.path(file), 'utf8');
  }

  json<T = Manifest>(file: string): T {
    return JSON.parse(this.read(file)) as T;
  }

  git(...args: string[]): string {
    return must('git', args, this.root, childEnv());
  }

  /** The workspace's own nx in the copy; npm offline, as the lock file update must not need the registry. */
  nx(...args: string[]): RunResult {
    return run(
      process.execPath,
      [join(this.root, 'node_modules', 'nx', 'dist', 'bin', 'nx.js'), ...args],
      this.root,
      childEnv({ npm_config_offline: 'true' }),
    );
  }

  /** Replaces the link to the real node_modules by nothing, so npm can install the copy for real. */
  unlinkModules(): void {
    const modules = this.path('node_modules');
    if (existsSync(modules) && lstatSync(modules).isSymbolicLink()) unlinkSync(modules);
    if (existsSync(modules)) throw new Error(`${modules} is not the link this copy made; refusing to touch it`);
  }

  remove(): void {
    // Never follow the link into the real node_modules.
    const modules = this.path('node_modules');
    if (existsSync(modules) && lstatSync(modules).isSymbolicLink()) unlinkSync(modules);
    rmSync(this.root, { recursive: true, force: true, maxRetries: 3 });
  }
}
