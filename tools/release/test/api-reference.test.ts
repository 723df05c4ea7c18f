import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { publishablePackages } from './support/consumer.js';
import { childEnv, run, workspaceRoot } from './support/workspace.js';

// The API reference (`npm run docs:api`, typedoc.json) is built from every published package's
// public entry points, with warnings as errors: a public type that leaks an unexported one, or a
// broken {@link}, fails here.

const out = mkdtempSync(join(tmpdir(), 'pushrelay-api-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('the API reference', () => {
  it('builds with no warning and has a page for every published package and entry point', () => {
    const r = run(
      process.execPath,
      [join(workspaceRoot, 'node_modules', 'typedoc', 'bin', 'typedoc'), '--out', out, '--logLevel', 'Warn'],
      workspaceRoot,
      childEnv(),
    );
    expect(r.output).toBe('');
    expect(r.status).toBe(0);
    const pages = publishablePackages().map((p) => `_${p.name.replace('@', '').replace('/', '_')}`);
    const missing = pages.filter(
      (page) =>
        !existsSync(join(out, 'modules', `${page}.html`)) && !existsSync(join(out, 'modules', `${page}.index.html`)),
    );
    expect(missing).toEqual([]);
    expect(readFileSync(join(out, 'modules', '_pushrelay_codec-signalwire.client.html'), 'utf8')).toContain(
      'decodeSignalWirePush',
    );
    expect(readFileSync(join(out, 'modules', '_pushrelay_core.html'), 'utf8')).toContain('Relay');
  });
});
