#!/usr/bin/env node
// Runs a TypeScript bench against the workspace sources (the "@pushrelay/source" condition),
// through Vite's module runner, so benches need no build step.
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { defaultServerConditions, runnerImport } from 'vite';

// runnerImport runs in its own "inline" environment that leaves every package to Node's own
// import, which knows no "@pushrelay/source" condition and would load dist/ (stale or missing):
// workspace packages are kept in the runner, where the condition applies.
const sourceConditions = {
  environments: {
    inline: {
      resolve: { conditions: ['@pushrelay/source', ...defaultServerConditions], noExternal: [/^@pushrelay\//] },
    },
  },
};

const file = process.argv[2];
if (!file) {
  console.error('usage: node tools/bench/run-ts.mjs <file.ts> [args...]');
  process.exit(2);
}
process.argv.splice(2, 1);
await runnerImport(pathToFileURL(resolve(file)).href, { configFile: false, ...sourceConditions, logLevel: 'error' });
