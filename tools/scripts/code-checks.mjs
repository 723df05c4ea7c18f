// The checks `npm test` runs over the whole tree before lint and typecheck: formatting (Prettier,
// .prettierrc.json) and dead code (knip, knip.json: unused files, exports, types and duplicate
// exports, each package's public src/index.ts being an entry). tools/checks proves each one fails on
// a violation.
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const workspaceRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export const CODE_CHECKS = {
  format: ['prettier', '--check', '--log-level=warn', '.'],
  deadCode: ['knip', '--no-progress'],
};

/**
 * Runs one check in `cwd` (default the workspace root) with the workspace's own binaries.
 * @param {keyof typeof CODE_CHECKS} name
 * @param {{ cwd?: string, stdio?: 'inherit' | 'pipe' }} [options]
 * @returns {{ status: number, output: string }}
 */
export function runCodeCheck(name, options = {}) {
  const [bin, ...args] = CODE_CHECKS[name];
  const r = spawnSync(join(workspaceRoot, 'node_modules', '.bin', bin), args, {
    cwd: options.cwd ?? workspaceRoot,
    stdio: options.stdio ?? 'pipe',
    encoding: 'utf8',
  });
  return { status: r.status ?? 1, output: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}
