import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const workspaceRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

interface CodeChecksModule {
  runCodeCheck(name: 'format' | 'deadCode', options?: { cwd?: string }): { status: number; output: string };
}
const { runCodeCheck } = (await import(
  pathToFileURL(join(workspaceRoot, 'tools', 'scripts', 'code-checks.mjs')).href
)) as CodeChecksModule;

let dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs = [];
});

/** A workspace laid out like this one, with the repository's own check configuration. */
function fixtureWorkspace(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'pushrelay-checks-'));
  dirs.push(root);
  for (const config of ['.prettierrc.json', '.prettierignore', 'knip.json']) {
    copyFileSync(join(workspaceRoot, config), join(root, config));
  }
  const all: Record<string, string> = {
    'package.json': `${JSON.stringify({ name: 'fixture', private: true, type: 'module', workspaces: ['packages/*'] }, null, 2)}\n`,
    'packages/greeter/package.json': `${JSON.stringify(
      {
        name: '@fixture/greeter',
        version: '0.1.0',
        type: 'module',
        exports: { '.': { '@pushrelay/source': './src/index.ts', default: './dist/index.js' } },
      },
      null,
      2,
    )}\n`,
    'packages/greeter/src/index.ts': "export { greet } from './internal/greet.js';\n",
    ...files,
  };
  for (const [path, text] of Object.entries(all)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

const GREET = 'export function greet(name: string): string {\n  return `hello ${name}`;\n}\n';

describe('the format check', () => {
  it('passes on a formatted tree', () => {
    const root = fixtureWorkspace({ 'packages/greeter/src/internal/greet.ts': GREET });
    const check = runCodeCheck('format', { cwd: root });
    expect(check.output).toBe('');
    expect(check.status).toBe(0);
  });

  it('fails on a file Prettier would rewrite, and names it', () => {
    const root = fixtureWorkspace({
      'packages/greeter/src/internal/greet.ts': 'export function greet(name:string):string{ return "hello "+name }\n',
    });
    const check = runCodeCheck('format', { cwd: root });
    expect(check.status).not.toBe(0);
    expect(check.output).toContain('packages/greeter/src/internal/greet.ts');
  });
});

describe('the dead-export check', () => {
  it('passes when every export is reachable from a public src/index.ts', () => {
    const root = fixtureWorkspace({ 'packages/greeter/src/internal/greet.ts': GREET });
    const check = runCodeCheck('deadCode', { cwd: root });
    // The fixture has none of this workspace's apps and tools: knip only hints at their patterns.
    expect(check.output).not.toMatch(/Unused|Duplicate/);
    expect(check.status).toBe(0);
  });

  it('fails on an export nothing imports, and names it', () => {
    const root = fixtureWorkspace({
      'packages/greeter/src/internal/greet.ts': `${GREET}\nexport function farewell(name: string): string {\n  return \`bye \${name}\`;\n}\n`,
    });
    const check = runCodeCheck('deadCode', { cwd: root });
    expect(check.status).not.toBe(0);
    expect(check.output).toMatch(
      /Unused exports[\s\S]*farewell\s+function\s+packages\/greeter\/src\/internal\/greet\.ts/,
    );
  });

  it('fails on a source file nothing imports', () => {
    const root = fixtureWorkspace({
      'packages/greeter/src/internal/greet.ts': GREET,
      'packages/greeter/src/internal/orphan.ts': 'export const ORPHAN = 1;\n',
    });
    const check = runCodeCheck('deadCode', { cwd: root });
    expect(check.status).not.toBe(0);
    expect(check.output).toMatch(/Unused files[\s\S]*packages\/greeter\/src\/internal\/orphan\.ts/);
  });
});
