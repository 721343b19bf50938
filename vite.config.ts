// Builds the PWA from client/ into dist/client, which the relay serves.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import solid from 'vite-plugin-solid';
import { VitePWA } from 'vite-plugin-pwa';

// Pages: the app, the operator console (/admin, its own entry: not in the app's bundle or precache), plus the
// audio lab (a test harness page for the audio engine's browser tests).
const clientDir = fileURLToPath(new URL('./client/', import.meta.url));
const pages = Object.fromEntries(
  [['main', 'index.html'], ['admin', 'admin.html'], ['audio-lab', 'audio-lab.html']].filter(([, file]) => existsSync(clientDir + file)).map(([name, file]) => [name, clientDir + file]),
);

export default defineConfig({
  root: 'client',
  publicDir: 'public',
  plugins: [
    solid(),
    VitePWA({
      // The person decides when to update: an in-app "New version available — Reload" prompt.
      registerType: 'prompt',
      injectRegister: false,
      // Every icon (192, 512, maskable, apple-touch, favicon) is generated from this one image at build time.
      pwaAssets: { image: 'public/icon.svg', preset: 'minimal-2023', overrideManifestIcons: true, injectThemeColor: false },
      manifest: {
        name: 'Earshot',
        short_name: 'Earshot',
        description: 'Talk hands-free with your AI assistant.',
        theme_color: '#0f766e',
        background_color: '#0b1220',
        display: 'standalone',
        orientation: 'portrait',
        start_url: '/',
        scope: '/',
        categories: ['productivity', 'utilities'],
      },
      workbox: {
        // The app shell opens offline; the relay's live endpoints never go through the cache.
        // The libopus wasm (session worker, engines without WebCodecs Opus) is precached too, so an installed app
        // starts offline on every engine. The plugin adds the manifest itself; globbing it too makes a conflicting duplicate precache entry.
        globPatterns: ['**/*.{js,css,html,svg,png,ico,wasm}'],
        globIgnores: ['**/audio-lab*', '**/assets/audio-lab*', '**/assets/tap.worklet*', '**/admin.html', '**/assets/admin*'],
        navigateFallback: '/index.html',
        navigateFallbackDenylist: [/^\/v1\//, /^\/api\//, /^\/metrics/, /^\/healthz/, /^\/audio-lab/, /^\/admin/],
        runtimeCaching: [],
        cleanupOutdatedCaches: true,
      },
    }),
  ],
  worker: { format: 'es' },
  build: {
    outDir: '../dist/client',
    emptyOutDir: true,
    target: 'es2022',
    rollupOptions: { input: pages },
  },
  server: {
    // `npm run dev` proxies the relay so the dev server behaves like production.
    proxy: {
      '/v1': { target: 'http://127.0.0.1:8080', ws: true },
      '/api': 'http://127.0.0.1:8080',
      '/admin/api': 'http://127.0.0.1:8080',
    },
  },
});
