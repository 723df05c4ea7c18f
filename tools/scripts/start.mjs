#!/usr/bin/env node
// The main job: builds what it runs, then starts it.
import { spawnSync } from 'node:child_process';

const build = spawnSync('npx', ['tsc', '--build', 'packages/core/tsconfig.lib.json'], { stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);
const run = spawnSync(process.execPath, ['examples/relay-one.mjs', ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(run.status ?? 1);
