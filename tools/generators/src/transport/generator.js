// @ts-check
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { scaffoldAdapter } from '../internal/scaffold.js';

/** The providers core's model knows; a transport serves the bindings of one of them. */
export const CORE_PROVIDERS = /** @type {const} */ (['apns', 'fcm', 'hms', 'webpush']);

/**
 * @typedef {object} TransportGeneratorSchema
 * @property {string} provider
 * @property {'apns' | 'fcm' | 'hms' | 'webpush'} [serves]
 * @property {boolean} [skipFormat]
 * @property {boolean} [skipInstall]
 */

const templateDir = join(dirname(fileURLToPath(import.meta.url)), 'files');

/**
 * `nx g @pushrelay/tools:transport <provider>`: packages/transport-<provider> with a working HTTP
 * transport, its contract test and a README.
 * @param {import('@nx/devkit').Tree} tree
 * @param {TransportGeneratorSchema} options
 */
export default async function transportGenerator(tree, options) {
  const known = /** @type {readonly string[]} */ (CORE_PROVIDERS);
  const serves = options.serves ?? (known.includes(options.provider) ? options.provider : 'fcm');
  if (!known.includes(serves)) {
    throw new Error(`--serves must be one of ${CORE_PROVIDERS.join(', ')}, not ${JSON.stringify(serves)}`);
  }
  return scaffoldAdapter(tree, {
    kind: 'transport',
    name: options.provider,
    templateDir,
    substitutions: { provider: serves },
    skipFormat: options.skipFormat ?? false,
    skipInstall: options.skipInstall ?? false,
  });
}
