import { discoverCodecs, type CodecCatalog } from '@pushrelay/app-kit';

/** The bridge's package.json: its `@pushrelay/codec-*` dependencies are the codecs it offers. */
const BRIDGE_MANIFEST = new URL('../../package.json', import.meta.url);

/**
 * The codec packages the bridge depends on, imported from here so each resolves from the bridge,
 * each described by its own `codecMetadata`. The registrar still reads only the SIP push headers
 * it knows (Mizutech's, RFC 8599's); every installed codec encodes the bindings naming its format,
 * whoever stored them (a gateway sharing the binding store, or `bindings` given to the bridge).
 */
export function loadCodecs(): Promise<CodecCatalog> {
  return discoverCodecs(BRIDGE_MANIFEST, (specifier) => import(/* @vite-ignore */ specifier));
}
