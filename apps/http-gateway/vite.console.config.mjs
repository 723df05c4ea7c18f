// Builds the operator console (console/) into dist/console, which the gateway serves at /console.
// Plain TypeScript and CSS, one bundle, no CDN: the page works offline.
import { fileURLToPath } from 'node:url';
import { defaultClientConditions, defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('./console', import.meta.url)),
  base: '/console/',
  logLevel: 'warn',
  // Workspace packages from their TypeScript sources (@pushrelay/codec-signalwire/client): no build step first.
  resolve: { conditions: ['@pushrelay/source', ...defaultClientConditions] },
  build: {
    outDir: fileURLToPath(new URL('./dist/console', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    // The CSP allows no inline script: the module preload helper stays in the bundle.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
  },
});
