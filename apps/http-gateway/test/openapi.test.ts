import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { CALL_NOTIFICATION_SCHEMA } from '@pushrelay/core';
import { createConfig, lintFromString } from '@redocly/openapi-core';
import openapiTS, { astToString } from 'openapi-typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './helpers.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../../..');
const run = promisify(execFile);

type Operation = { operationId?: string; responses: Record<string, { description: string; content?: any }> };

let s: Stack;
let doc: { paths: Record<string, Record<string, Operation>> } & Record<string, unknown>;
beforeAll(async () => {
  s = await startStack();
  doc = (await s.call('GET', '/openapi.json', { key: null })).body;
});
afterAll(async () => {
  await s?.close();
});

const operations = () =>
  Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ path, method, op })));

/** The REST API's own routes (the vendor doors document what their vendors define). */
const API = [
  ['/v1/devices', 'post', ['200', '201', '400', '401', '413', '415', '429', '500']],
  ['/v1/devices', 'get', ['200', '400', '401', '500']],
  ['/v1/devices/{id}', 'delete', ['204', '400', '401', '404', '500']],
  ['/v1/notifications', 'post', ['200', '202', '400', '401', '413', '415', '429', '500', '503']],
  ['/v1/notifications/{id}', 'get', ['200', '400', '401', '404', '500']],
  ['/v1/webpush/keys', 'get', ['200', '401', '500']],
  ['/healthz', 'get', ['200']],
  ['/readyz', 'get', ['200', '503']],
  ['/metrics', 'get', ['200']],
] as const;

describe('the OpenAPI document', () => {
  it.each(API)(
    '%s %s documents every status it answers, each with a description and an example',
    (path, method, codes) => {
      const op = doc.paths[path]![method]!;
      expect(Object.keys(op.responses).sort()).toEqual([...codes].sort());
      for (const [code, response] of Object.entries(op.responses)) {
        expect(response.description, `${code}`).not.toBe('Default Response');
        if (code === '204') continue;
        const [media] = Object.values(response.content ?? {}) as any[];
        const example = media?.example ?? media?.examples ?? media?.schema?.example;
        const component = media?.schema?.$ref?.split('/').at(-1);
        expect(example ?? (doc as any).components.schemas[component]?.example, `${path} ${code}`).toBeDefined();
      }
    },
  );

  it("documents a notification with core's schema, and core alone refuses one", async () => {
    const body = (doc.paths['/v1/notifications']!.post as any).requestBody.content['application/json'];
    expect(Object.keys(body.schema.properties)).toEqual(Object.keys(CALL_NOTIFICATION_SCHEMA.properties));
    expect(body.schema.properties.id.pattern).toBe(CALL_NOTIFICATION_SCHEMA.properties.id.pattern);
    expect(body.example).toMatchObject({ type: 'incoming_call' });
    // A wrong type, an unknown field and a too-long recipient: one answer in core's words.
    const res = await s.call('POST', '/v1/notifications', {
      body: { type: 'ring', recipient: 'x'.repeat(201), extra: 1 },
    });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('validation_failed');
    expect(res.body.details).toEqual(
      expect.arrayContaining([
        { path: 'extra', message: 'is not a known field' },
        { path: 'type', message: expect.stringMatching(/^must be one of incoming_call/) },
        { path: 'recipient', message: 'must be at most 200 characters' },
      ]),
    );
    const notObject = await s.call('POST', '/v1/notifications', { raw: '"hello"' });
    expect([notObject.status, notObject.body.details]).toEqual([400, [{ path: '', message: 'must be an object' }]]);
  });

  it('gives every operation a unique operationId', () => {
    const ids = operations().map(({ op }) => op.operationId);
    expect(ids.every((id) => typeof id === 'string' && id.length > 0)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("passes Redocly's recommended lint with no problem", async () => {
    const config = await createConfig({
      extends: ['recommended'],
      // Health probes and vendor doors have no 4xx of their own; the API routes' 4xx are asserted above.
      rules: { 'operation-4xx-response': 'off' },
    });
    const problems = await lintFromString({
      source: JSON.stringify(doc),
      absoluteRef: join(tmpdir(), 'openapi.json'),
      config,
    });
    expect(problems.map((p) => `${p.severity} ${p.ruleId}: ${p.message} at ${p.location[0]?.pointer}`)).toEqual([]);
  });

  it('generates a TypeScript client the README walkthrough type-checks against, and the walkthrough runs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pushrelay-client-'));
    try {
      writeFileSync(join(dir, 'api.d.ts'), astToString(await openapiTS(doc as any)));
      copyFileSync(join(here, '../examples/typed-client.ts'), join(dir, 'typed-client.ts'));
      symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module', private: true }));
      writeFileSync(
        join(dir, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            strict: true,
            noUncheckedIndexedAccess: true,
            module: 'nodenext',
            moduleResolution: 'nodenext',
            target: 'es2022',
            skipLibCheck: true,
            outDir: 'out',
          },
          files: ['typed-client.ts', 'api.d.ts'],
        }),
      );
      const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
      await run(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json')]).catch((error: { stdout?: string }) => {
        throw new Error(`the walkthrough does not type-check against the document:\n${error.stdout}`);
      });
      const { walkthrough } = await import(pathToFileURL(join(dir, 'out', 'typed-client.js')).href);
      // The message is not pushed to the VoIP-only iPhone (a VoIP push must report a call).
      expect(await walkthrough(s.url, s.apiKey)).toEqual([
        'call-0001',
        'completed',
        'skipped',
        'delivered',
        '2 devices',
      ]);

      // The check can fail: a body the document does not allow is a type error.
      writeFileSync(
        join(dir, 'typed-client.ts'),
        `import createClient from 'openapi-fetch';\nimport type { paths } from './api.js';\n` +
          `await createClient<paths>().POST('/v1/notifications', { body: { type: 'ring', recipient: 'a' } });\n`,
      );
      const wrong = await run(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json'), '--noEmit']).then(
        () => '',
        (error: { stdout: string }) => error.stdout,
      );
      expect(wrong).toContain('\'"ring"\' is not assignable');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
