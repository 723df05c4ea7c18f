import type { Provider } from './model.js';
import type { Codec } from './ports.js';

/**
 * What a codec package says of itself (exported as `codecMetadata` from its index), so an app
 * offers it from this alone, with no list of its own to keep in step.
 */
export interface CodecMetadata {
  /** The id device bindings name in `format`, and an app's configuration in `codecs`. */
  readonly id: string;
  /** Providers it encodes for. */
  readonly providers: readonly Provider[];
  /** Whether each device gets a key of its own that its app must be given (kept in `binding.secrets`). */
  readonly devicePushKey: boolean;
  /** The codec with its default options. */
  create(): Codec;
}
