#!/usr/bin/env node
// The main job. Without arguments it builds and runs the offline demo: the HTTP gateway on the
// APNs, FCM, HMS and Web Push simulators with a demo tenant (a development entry, apps/http-gateway/demo:
// the gateway's production install has no simulators). With arguments it builds the gateway and
// runs its command line (both builds include the console the gateway serves at /console): `npm start -- serve --config pushrelay.yaml` runs it against real providers.
import { spawnSync } from 'node:child_process';

const args = process.argv.slice(2);
const demo = args.length === 0;
const tsconfig = demo ? 'apps/http-gateway/tsconfig.demo.json' : 'apps/http-gateway/tsconfig.app.json';
const build = spawnSync('npx', ['tsc', '--build', tsconfig], { stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);
// The operator console the gateway serves at /console (static files, built by Vite).
const ui = spawnSync('npx', ['vite', 'build', '--config', 'apps/http-gateway/vite.console.config.mjs'], {
  stdio: 'inherit',
});
if (ui.status !== 0) process.exit(ui.status ?? 1);
const entry = demo ? 'apps/http-gateway/demo/pushrelay-demo.mjs' : 'apps/http-gateway/bin/pushrelay.mjs';
const run = spawnSync(process.execPath, [entry, ...args], { stdio: 'inherit' });
process.exit(run.status ?? 1);
