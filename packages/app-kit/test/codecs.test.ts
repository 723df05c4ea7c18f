import { expect, it } from 'vitest';
import { CODECS, codecCatalog } from '../src/index.js';

it('builds the codec maps from what each codec package declares', () => {
  const catalog = codecCatalog();
  expect(catalog.ids).toEqual(['wazo', 'kaleyra', 'signalwire', 'mizutech', 'ecss']);
  expect([...catalog.withPushKey]).toEqual(['signalwire']);
  for (const metadata of CODECS) {
    const codec = metadata.create();
    expect([codec.id, codec.capabilities.providers]).toEqual([metadata.id, metadata.providers]);
    expect(catalog.byId.get(metadata.id)).toBe(metadata);
  }
});
