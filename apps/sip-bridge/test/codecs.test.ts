import { readFileSync } from 'node:fs';
import { get } from '@pushrelay/app-kit';
import type { Codec, Transport } from '@pushrelay/core';
import { expect, it } from 'vitest';
import { TOKENS, composeBridge, loadCodecs } from '../src/index.js';

const fcm: Transport = { provider: 'fcm', send: async () => ({ kind: 'delivered' }), close: async () => {} };
const config = { domain: 'sip.example.com', users: [{ username: 'alice', password: 'pw' }] };

function dependedCodecIds(): string[] {
  const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    dependencies: Record<string, string>;
  };
  return Object.keys(manifest.dependencies)
    .filter((name) => name.startsWith('@pushrelay/codec-'))
    .map((name) => name.slice('@pushrelay/codec-'.length))
    .sort();
}

it('encodes with every codec package it depends on, not only the SIP ones', async () => {
  const ids = dependedCodecIds();
  expect(ids).toEqual(expect.arrayContaining(['ecss', 'mizutech', 'wazo', 'kaleyra', 'signalwire']));
  expect((await loadCodecs()).ids).toEqual(ids);
  const c = await composeBridge({ config, transports: { fcm } });
  expect(get(c, TOKENS.Codecs).map((codec) => codec.id)).toEqual(ids);
  const relay = get(c, TOKENS.Relay);
  for (const format of ids) expect(() => relay.checkBinding({ provider: 'fcm', format })).not.toThrow();
  expect(() => relay.checkBinding({ provider: 'fcm', format: 'acme' })).toThrow(/acme/);
});

it('takes codecs of its options over the installed ones of the same id, and adds the others', async () => {
  const custom = (id: string): Codec => ({
    id,
    capabilities: { decode: false, providers: ['fcm'] },
    encode: () => null,
  });
  const wazo = custom('wazo');
  const c = await composeBridge({ config, codecs: [wazo, custom('extra')] });
  const codecs = get(c, TOKENS.Codecs);
  expect(codecs.map((codec) => codec.id)).toEqual([
    ...dependedCodecIds().filter((id) => id !== 'wazo'),
    'wazo',
    'extra',
  ]);
  expect(codecs.find((codec) => codec.id === 'wazo')).toBe(wazo);
});
