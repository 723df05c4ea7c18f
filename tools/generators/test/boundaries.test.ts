import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childEnv, TempWorkspace, workspaceRoot } from './support/workspace.js';

const lintScript = join(workspaceRoot, 'tools', 'generators', 'test', 'support', 'lint-text.mjs');
const RULE = '@nx/enforce-module-boundaries';

interface LintMessage {
  ruleId: string | null;
  message: string;
  severity: number;
}

interface LintCase {
  /** Relative to the workspace root. */
  file: string;
  code: string;
}

/** Lints each case with the workspace's own ESLint config, in one child process. */
function lintAll(root: string, cases: LintCase[]): LintMessage[][] {
  const input = JSON.stringify(cases.map((c) => ({ filePath: join(root, c.file), code: c.code })));
  const r = spawnSync(process.execPath, [lintScript, input], {
    cwd: root,
    env: childEnv,
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`lint-text failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as LintMessage[][];
}

/** Lints all cases once, then answers each case's boundary errors by its key. */
function boundaryErrorsOf(root: string, cases: Record<string, LintCase>): Record<string, string[]> {
  const keys = Object.keys(cases);
  const results = lintAll(
    root,
    keys.map((k) => cases[k]!),
  );
  return Object.fromEntries(keys.map((k, i) => [k, boundaryErrors(results[i]!)]));
}

// Importing a package that depends on core back is reported as a cycle before any tag rule.
const CORE_VIOLATION = /type:core|Circular dependency between "@pushrelay\/core"/;

function boundaryErrors(messages: LintMessage[]): string[] {
  return messages.filter((m) => m.ruleId === RULE && m.severity === 2).map((m) => m.message);
}

/** Makes sure the Nx project graph the lint rule reads exists and knows these projects. */
function projectGraph(run: (...args: string[]) => { status: number; output: string }, ...expected: string[]): void {
  const r = run('show', 'projects');
  expect(r.status, r.output).toBe(0);
  for (const name of expected) expect(r.output).toContain(name);
}

const importOf = (pkg: string) => `import * as dep from '${pkg}';\n\nexport const used = dep;\n`;

describe('module boundaries in this workspace', () => {
  let errors: Record<string, string[]>;
  // The adapter packages present in this checkout, whatever they are.
  const adapters = readdirSync(join(workspaceRoot, 'packages'))
    .filter((d) => /^(codec|transport)-/.test(d))
    .sort();
  const codecs = adapters.filter((d) => d.startsWith('codec-'));

  beforeAll(() => {
    projectGraph(
      (...args) => {
        const r = spawnSync(
          process.execPath,
          [join(workspaceRoot, 'node_modules', 'nx', 'dist', 'bin', 'nx.js'), ...args],
          {
            cwd: workspaceRoot,
            env: childEnv,
            encoding: 'utf8',
          },
        );
        return { status: r.status ?? 1, output: `${r.stdout}${r.stderr}` };
      },
      '@pushrelay/core',
      '@pushrelay/testkit',
    );
    errors = boundaryErrorsOf(workspaceRoot, {
      coreImportsTestkit: { file: 'packages/core/src/probe.ts', code: importOf('@pushrelay/testkit') },
      coreImportsItself: { file: 'packages/core/src/probe.ts', code: importOf('./model.js') },
      ...Object.fromEntries(
        adapters.map((a) => [`core->${a}`, { file: 'packages/core/src/probe.ts', code: importOf(`@pushrelay/${a}`) }]),
      ),
      ...Object.fromEntries(
        codecs.flatMap((codec) =>
          adapters
            .filter((other) => other !== codec)
            .map((other) => [
              `${codec}->${other}`,
              { file: `packages/${codec}/src/probe.ts`, code: importOf(`@pushrelay/${other}`) },
            ]),
        ),
      ),
    });
  });

  it('core may not import any adapter of this workspace', () => {
    for (const a of adapters) {
      expect(errors[`core->${a}`], a).toHaveLength(1);
      expect(errors[`core->${a}`]![0]).toMatch(CORE_VIOLATION);
    }
  });

  it('no codec of this workspace may import another adapter', () => {
    for (const codec of codecs) {
      for (const other of adapters.filter((o) => o !== codec)) {
        expect(errors[`${codec}->${other}`], `${codec} -> ${other}`).toHaveLength(1);
        expect(errors[`${codec}->${other}`]![0]).toContain(
          'A project tagged with "type:codec" can only depend on libs tagged with',
        );
      }
    }
  });

  it('core may not import the testkit', () => {
    expect(errors.coreImportsTestkit).toHaveLength(1);
    expect(errors.coreImportsTestkit![0]).toMatch(CORE_VIOLATION);
  });

  it('core may import its own files', () => {
    expect(errors.coreImportsItself).toEqual([]);
  });
});

// Codecs and transports generated into a throwaway copy of the workspace (its eslint.config.mjs is
// this one's), so the real tree is never touched and the copy goes away even when a test fails.
describe('module boundaries between adapters', () => {
  let ws: TempWorkspace | undefined;
  let errors: Record<string, string[]>;
  const codec = 'packages/codec-bound';
  const transport = 'packages/transport-bound-push';

  beforeAll(() => {
    ws = new TempWorkspace('pushrelay-bounds-');
    for (const args of [
      ['g', '@pushrelay/tools:codec', 'bound', '--skipInstall', '--no-interactive'],
      ['g', '@pushrelay/tools:transport', 'bound-push', '--skipInstall', '--no-interactive'],
    ]) {
      const r = ws.nx(...args);
      expect(r.status, r.output).toBe(0);
    }
    ws.link(codec);
    ws.link(transport);
    const temp = ws;
    projectGraph((...args) => temp.nx(...args), '@pushrelay/codec-bound', '@pushrelay/transport-bound-push');
    errors = boundaryErrorsOf(ws.root, {
      codecSrcImportsTransport: { file: `${codec}/src/probe.ts`, code: importOf('@pushrelay/transport-bound-push') },
      codecTestImportsTransport: {
        file: `${codec}/test/probe.test.ts`,
        code: importOf('@pushrelay/transport-bound-push'),
      },
      transportImportsCodec: { file: `${transport}/src/probe.ts`, code: importOf('@pushrelay/codec-bound') },
      coreImportsCodec: { file: 'packages/core/src/probe.ts', code: importOf('@pushrelay/codec-bound') },
      coreImportsTransport: { file: 'packages/core/src/probe.ts', code: importOf('@pushrelay/transport-bound-push') },
      coreImportsTestkit: { file: 'packages/core/src/probe.ts', code: importOf('@pushrelay/testkit') },
      codecImportsCore: { file: `${codec}/src/probe.ts`, code: importOf('@pushrelay/core') },
      transportImportsCore: { file: `${transport}/src/probe.ts`, code: importOf('@pushrelay/core') },
      codecTestImportsTestkit: { file: `${codec}/test/probe.test.ts`, code: importOf('@pushrelay/testkit') },
      codecSrcImportsTestkit: { file: `${codec}/src/probe.ts`, code: importOf('@pushrelay/testkit') },
    });
  });

  afterAll(() => {
    ws?.remove();
  });

  it('a codec may not import a transport, in its sources or its tests', () => {
    for (const key of ['codecSrcImportsTransport', 'codecTestImportsTransport']) {
      expect(errors[key], key).toHaveLength(1);
      expect(errors[key]![0]).toContain('A project tagged with "type:codec" can only depend on libs tagged with');
    }
  });

  it('a transport may not import a codec', () => {
    expect(errors.transportImportsCodec).toHaveLength(1);
    expect(errors.transportImportsCodec![0]).toContain(
      'A project tagged with "type:transport" can only depend on libs tagged with',
    );
  });

  it('core may not import an adapter or the testkit', () => {
    for (const key of ['coreImportsCodec', 'coreImportsTransport', 'coreImportsTestkit']) {
      expect(errors[key], key).toHaveLength(1);
      expect(errors[key]![0]).toMatch(CORE_VIOLATION);
    }
  });

  it('an adapter may import core, and its tests the testkit', () => {
    expect(errors.codecImportsCore).toEqual([]);
    expect(errors.transportImportsCore).toEqual([]);
    expect(errors.codecTestImportsTestkit).toEqual([]);
  });

  it('an adapter may not import the testkit outside its tests', () => {
    expect(errors.codecSrcImportsTestkit).toHaveLength(1);
    expect(errors.codecSrcImportsTestkit![0]).toContain('type:codec');
  });
});
