#!/usr/bin/env node
// Runs a TypeScript bench against the workspace sources (the "@pushrelay/source" condition),
// through Vite's module runner, so benches need no build step.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { defaultServerConditions, runnerImport } from 'vite';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The source entry of a workspace package (`@pushrelay/x`), or the specifier unchanged. */
globalThis.__pushrelaySourceOf = (specifier) => {
  if (typeof specifier !== 'string' || !specifier.startsWith('@pushrelay/')) return specifier;
  const dir = join(root, 'node_modules', specifier);
  try {
    const source = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).exports?.['.']?.['@pushrelay/source'];
    return source ? join(dir, source) : specifier;
  } catch {
    return specifier;
  }
};

// The runner treats a computed `import(name)` of a bare name as external and leaves it to Node,
// which knows no "@pushrelay/source" condition (the apps import their codec packages so): such
// imports are given the package's source entry, an absolute path the runner keeps.
const computedImports = {
  name: 'pushrelay-computed-imports',
  transform(code, id) {
    if (id.includes('/node_modules/') || !code.includes('@vite-ignore')) return null;
    const marker = /\bimport\(\s*\/\*\s*@vite-ignore\s*\*\/\s*/g;
    let out = '';
    let last = 0;
    for (let m = marker.exec(code); m; m = marker.exec(code)) {
      let depth = 0;
      let end = marker.lastIndex;
      for (; end < code.length; end++) {
        const c = code[end];
        if (c === '(') depth++;
        else if (c === ')' && depth-- === 0) break;
      }
      out += `${code.slice(last, marker.lastIndex)}globalThis.__pushrelaySourceOf(${code.slice(marker.lastIndex, end)})`;
      last = end;
    }
    return last === 0 ? null : { code: out + code.slice(last), map: null };
  },
};

// runnerImport runs in its own "inline" environment that leaves every package to Node's own
// import, which knows no "@pushrelay/source" condition and would load dist/ (stale or missing):
// workspace packages are kept in the runner, where the condition applies.
const sourceConditions = {
  plugins: [computedImports],
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
