import type { CodecMetadata } from '@pushrelay/core';
import { codecMetadata as ecss } from '@pushrelay/codec-ecss';
import { codecMetadata as kaleyra } from '@pushrelay/codec-kaleyra';
import { codecMetadata as mizutech } from '@pushrelay/codec-mizutech';
import { codecMetadata as signalwire } from '@pushrelay/codec-signalwire';
import { codecMetadata as wazo } from '@pushrelay/codec-wazo';

/** The codec packages the apps offer, each described by its own `codecMetadata`, in the default order. */
export const CODECS: readonly CodecMetadata[] = [wazo, kaleyra, signalwire, mizutech, ecss];

/** The codecs by id, and which formats give each device a push key, from the packages' metadata. */
export function codecCatalog(codecs: readonly CodecMetadata[] = CODECS): {
  ids: string[];
  byId: ReadonlyMap<string, CodecMetadata>;
  withPushKey: ReadonlySet<string>;
} {
  return {
    ids: codecs.map((c) => c.id),
    byId: new Map(codecs.map((c) => [c.id, c])),
    withPushKey: new Set(codecs.filter((c) => c.devicePushKey).map((c) => c.id)),
  };
}
