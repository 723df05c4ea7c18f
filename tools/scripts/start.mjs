#!/usr/bin/env node
// The main job: builds the HTTP gateway (and the packages it uses), then starts it. Without
// arguments it runs the offline demo: the gateway on the APNs, FCM and HMS simulators.
// `npm start -- serve --config pushrelay.yaml` runs it against real providers.
import { spawnSync } from 'node:child_process';

const build = spawnSync('npx', ['tsc', '--build', 'apps/http-gateway/tsconfig.app.json'], { stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);
const args = process.argv.slice(2);
const run = spawnSync(process.execPath, ['apps/http-gateway/bin/pushrelay.mjs', ...(args.length ? args : ['demo'])], {
  stdio: 'inherit',
});
process.exit(run.status ?? 1);
