import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CodecMetadata } from '@pushrelay/core';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, discoverCodecs, installedCodecPackages, loadCodecCatalog } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'pushrelay-codecs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function manifestFile(manifest: unknown): string {
  const file = join(dir, `package-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(manifest));
  return file;
}

function issuesOf(error: unknown): { path: string; message: string }[] {
  expect(error).toBeInstanceOf(ConfigError);
  return (error as ConfigError).issues;
}

const importModule = (specifier: string) => import(/* @vite-ignore */ specifier);

describe('codec discovery', () => {
  it("finds the codec packages among an app's dependencies, by id", () => {
    expect(
      installedCodecPackages({
        dependencies: { '@pushrelay/codec-wazo': '0.1.0', '@pushrelay/core': '0.1.0', fastify: '^5' },
        optionalDependencies: { '@pushrelay/codec-acme-voice': '0.1.0' },
      }),
    ).toEqual([
      { name: '@pushrelay/codec-acme-voice', id: 'acme-voice' },
      { name: '@pushrelay/codec-wazo', id: 'wazo' },
    ]);
    expect(installedCodecPackages({})).toEqual([]);
  });

  it('imports each package and builds the codec maps from what it declares', async () => {
    const catalog = await discoverCodecs(
      manifestFile({
        dependencies: Object.fromEntries(
          ['wazo', 'kaleyra', 'signalwire', 'mizutech', 'ecss'].map((id) => [`@pushrelay/codec-${id}`, '0.1.0']),
        ),
      }),
      importModule,
    );
    expect(catalog.ids).toEqual(['ecss', 'kaleyra', 'mizutech', 'signalwire', 'wazo']);
    expect([...catalog.withPushKey]).toEqual(['signalwire']);
    for (const [id, metadata] of catalog.byId) {
      const [codec] = catalog.create([id]);
      expect([codec!.id, codec!.capabilities.providers]).toEqual([metadata.id, metadata.providers]);
    }
  });

  it('names a configured codec that is not installed, with its path', async () => {
    const catalog = await loadCodecCatalog([{ name: '@pushrelay/codec-wazo', id: 'wazo' }], importModule);
    let thrown: unknown;
    try {
      catalog.create(['wazo', 'acme'], 'push.codecs');
    } catch (error) {
      thrown = error;
    }
    expect(issuesOf(thrown)).toEqual([
      {
        path: 'push.codecs[1]',
        message:
          'codec "acme" is not installed (installed: wazo); add @pushrelay/codec-acme to the app\'s dependencies',
      },
    ]);
  });

  it('refuses a dependency that cannot be imported or declares no valid metadata, listing each', async () => {
    const fake = (modules: Record<string, unknown>) => async (specifier: string) => {
      if (!(specifier in modules)) throw new Error(`Cannot find package '${specifier}'`);
      return modules[specifier];
    };
    const good: CodecMetadata = {
      id: 'good',
      providers: ['fcm'],
      devicePushKey: false,
      create: () => ({ id: 'good', capabilities: { decode: false, providers: ['fcm'] }, encode: () => null }),
    };
    const error = await loadCodecCatalog(
      [
        { name: '@pushrelay/codec-good', id: 'good' },
        { name: '@pushrelay/codec-gone', id: 'gone' },
        { name: '@pushrelay/codec-bare', id: 'bare' },
        { name: '@pushrelay/codec-other', id: 'other' },
        { name: '@pushrelay/codec-odd', id: 'odd' },
      ],
      fake({
        '@pushrelay/codec-good': { codecMetadata: good },
        '@pushrelay/codec-bare': {},
        '@pushrelay/codec-other': { codecMetadata: { ...good, id: 'good' } },
        '@pushrelay/codec-odd': { codecMetadata: { ...good, id: 'odd', providers: ['sms'] } },
      }),
    ).catch((e: unknown) => e);
    expect(issuesOf(error).map((i) => i.path)).toEqual(['codecs.gone', 'codecs.bare', 'codecs.other', 'codecs.odd']);
    expect(issuesOf(error).map((i) => i.message)).toEqual([
      "@pushrelay/codec-gone is a dependency but cannot be imported (Cannot find package '@pushrelay/codec-gone'); run npm install",
      '@pushrelay/codec-bare: exports no codecMetadata',
      '@pushrelay/codec-other: codecMetadata.id is "good", expected "other" (the package name\'s)',
      '@pushrelay/codec-odd: codecMetadata.providers must list some of apns, fcm, hms, webpush',
    ]);
  });

  it("fails with a ConfigError when the app's package.json cannot be read", async () => {
    const thrown = await discoverCodecs(join(dir, 'missing.json'), importModule).catch((e: unknown) => e);
    expect(issuesOf(thrown)[0]!.message).toMatch(/^cannot read the app's package.json at .*missing\.json: /);
  });
});
