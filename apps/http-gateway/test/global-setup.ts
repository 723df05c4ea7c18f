import { build } from 'vite';

/**
 * Builds the console once before the gateway's suites (what `npm start` and `npm run build` do),
 * so every suite serves the same dist/console and none rebuilds it under another's feet.
 */
export default async function setup(): Promise<void> {
  await build({ configFile: new URL('../vite.console.config.mjs', import.meta.url).pathname, logLevel: 'warn' });
}
