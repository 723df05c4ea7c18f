#!/usr/bin/env node
// The one test command: project references in sync, formatting, dead code, lint and typecheck of every
// project, then every test suite in one vitest run whose JSON report .ci/run sums up.
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { CODE_CHECKS, runCodeCheck } from './code-checks.mjs';

const env = { ...process.env, NX_NO_CLOUD: 'true', NX_DAEMON: 'false', NX_TUI: 'false' };
const run = (cmd, args) => {
  console.log(`\n$ ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', env });
  return r.status ?? 1;
};

let failed = 0;
failed |= run('npx', ['nx', 'sync:check']);
for (const name of /** @type {const} */ (['format', 'deadCode'])) {
  console.log(`\n$ ${CODE_CHECKS[name].join(' ')}`);
  failed |= runCodeCheck(name, { stdio: 'inherit' }).status;
}
failed |= run('npx', ['nx', 'run-many', '-t', 'lint', 'typecheck', '--outputStyle=static']);
mkdirSync('.reports', { recursive: true });
failed |= run('npx', [
  'vitest',
  'run',
  '--reporter=default',
  '--reporter=json',
  '--outputFile.json=.reports/vitest.json',
  ...process.argv.slice(2),
]);
process.exit(failed ? 1 : 0);
