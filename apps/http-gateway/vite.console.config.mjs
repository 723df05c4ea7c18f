// Builds the operator console (console/) into dist/console, which the gateway serves at /console.
// Plain TypeScript and CSS, one bundle, no CDN: the page works offline.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { sourceConditions } from '../../vitest.shared.mjs';

export default defineConfig({
  root: fileURLToPath(new URL('./console', import.meta.url)),
  base: '/console/',
  logLevel: 'warn',
  resolve: sourceConditions.resolve,
  build: {
    outDir: fileURLToPath(new URL('./dist/console', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    // The CSP allows no inline script: the module preload helper stays in the bundle.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
  },
});
