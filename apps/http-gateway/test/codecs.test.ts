import { readFileSync } from 'node:fs';
import { get } from '@pushrelay/app-kit';
import { expect, it } from 'vitest';
import { ConfigError, KNOWN_CODECS, TOKENS, buildContainer, loadCodecs, parseConfig, sha256Hex } from '../src/index.js';

const config = parseConfig(
  { codecs: ['wazo', 'signalwire'], tenants: [{ id: 't', apiKeySha256: [sha256Hex('k')] }] },
  { env: {} },
);

it("offers the codecs of the @pushrelay/codec-* packages in the gateway's package.json, by id", async () => {
  const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    dependencies: Record<string, string>;
  };
  const ids = Object.keys(manifest.dependencies)
    .filter((name) => name.startsWith('@pushrelay/codec-'))
    .map((name) => name.slice('@pushrelay/codec-'.length))
    .sort();
  expect(KNOWN_CODECS).toEqual(ids);
  const catalog = await loadCodecs();
  expect(catalog.ids).toEqual(ids);
  expect([...catalog.withPushKey]).toEqual(['signalwire']);
});

it('composes the configured codecs from the loaded packages, and refuses to compose without them', async () => {
  const composed = buildContainer(config, { catalog: await loadCodecs() });
  expect(get(composed, TOKENS.codecs).map((c) => c.id)).toEqual(['wazo', 'signalwire']);

  const bare = buildContainer(config);
  let thrown: unknown;
  try {
    get(bare, TOKENS.codecs);
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(ConfigError);
  expect((thrown as ConfigError).issues).toEqual([
    {
      path: 'codecs',
      message: 'the codec packages load asynchronously: load them first (loadCodecs) and pass `catalog`',
    },
  ]);
});
