import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TempWorkspace, workspaceRoot } from './support/workspace.js';

// Proves a freshly generated codec and transport pass lint, typecheck, their tests, `nx sync:check`
// and check-adapters with no edit at all, in a throwaway copy of the workspace.
describe('generated packages, end to end', () => {
  let ws: TempWorkspace;

  beforeAll(() => {
    ws = new TempWorkspace();
  });

  afterAll(() => {
    ws?.remove();
  });

  it('--dry-run lists the files and writes nothing', () => {
    const tsconfigBefore = ws.read('tsconfig.json');
    const r = ws.nx('g', '@pushrelay/tools:codec', 'dry', '--dry-run', '--no-interactive');
    expect(r.status, r.output).toBe(0);
    expect(r.output).toContain('CREATE packages/codec-dry/src/index.ts');
    expect(r.output).toContain('CREATE packages/codec-dry/fixtures/incoming-call.json');
    expect(r.output).toContain('UPDATE tsconfig.json');
    expect(existsSync(ws.path('packages', 'codec-dry'))).toBe(false);
    expect(ws.read('tsconfig.json')).toBe(tsconfigBefore);
  });

  it('generates a codec and a transport that pass lint, typecheck, test, sync:check and check-adapters untouched', () => {
    const codec = ws.nx('g', '@pushrelay/tools:codec', 'acme-voice', '--skipInstall', '--no-interactive');
    expect(codec.status, codec.output).toBe(0);
    const transport = ws.nx('g', '@pushrelay/tools:transport', 'acme-push', '--skipInstall', '--no-interactive');
    expect(transport.status, transport.output).toBe(0);
    // What the skipped `npm install` would have done: link the new workspace packages.
    ws.link('packages/codec-acme-voice');
    ws.link('packages/transport-acme-push');

    const references = JSON.parse(ws.read('tsconfig.json')).references.map((r: { path: string }) => r.path);
    expect(references).toContain('./packages/codec-acme-voice');
    expect(references).toContain('./packages/transport-acme-push');

    const sync = ws.nx('sync:check');
    expect(sync.status, sync.output).toBe(0);

    const checks = ws.node(`${workspaceRoot}/tools/scripts/check-adapters.mjs`, ws.root);
    expect(checks.status, checks.output).toBe(0);
    expect(checks.output).toContain('2 adapter package(s) complete');
    // Ready for npm as generated: LICENSE, repository, publishConfig, ranges core's version meets.
    const packages = ws.node(`${workspaceRoot}/tools/scripts/check-packages.mjs`, ws.root);
    expect(packages.status, packages.output).toBe(0);
    expect(packages.output).toContain('4 published package(s) ready for npm');

    const run = ws.nx(
      'run-many',
      '-t',
      'lint',
      'typecheck',
      'test',
      '-p',
      '@pushrelay/codec-acme-voice',
      '@pushrelay/transport-acme-push',
      '--outputStyle=static',
    );
    expect(run.status, run.output).toBe(0);
    expect(run.output).toContain('Successfully ran targets lint, typecheck, test for 2 projects');
    // The conformance suite really ran over the generated fixture.
    expect(run.output).toMatch(/codec-acme-voice[^\n]*conformance\.test\.ts[^\n]*\(\d+ tests?\)/);
    expect(JSON.parse(readFileSync(ws.path('packages/codec-acme-voice/package.json'), 'utf8')).name).toBe(
      '@pushrelay/codec-acme-voice',
    );
  });
});
