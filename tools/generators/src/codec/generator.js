// @ts-check
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { scaffoldAdapter } from '../internal/scaffold.js';

/**
 * @typedef {object} CodecGeneratorSchema
 * @property {string} vendor
 * @property {boolean} [skipFormat]
 * @property {boolean} [skipInstall]
 */

const templateDir = join(dirname(fileURLToPath(import.meta.url)), 'files');

/**
 * `nx g @pushrelay/tools:codec <vendor>`: packages/codec-<vendor> with a working FCM codec,
 * one fixture, the conformance test and a README, and a dependency of every app on it.
 * @param {import('@nx/devkit').Tree} tree
 * @param {CodecGeneratorSchema} options
 */
export default async function codecGenerator(tree, options) {
  return scaffoldAdapter(tree, {
    kind: 'codec',
    name: options.vendor,
    templateDir,
    skipFormat: options.skipFormat ?? false,
    skipInstall: options.skipInstall ?? false,
    // The apps discover their codecs from their dependencies: this alone makes it usable in each.
    offerToApps: true,
  });
}
