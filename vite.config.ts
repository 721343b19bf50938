// Builds the PWA from client/ into dist/client, which the relay serves.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import solid from 'vite-plugin-solid';

// Pages: the app, plus the audio lab (a test harness page for the audio engine's browser tests).
const clientDir = fileURLToPath(new URL('./client/', import.meta.url));
const pages = Object.fromEntries(
  [['main', 'index.html'], ['audio-lab', 'audio-lab.html']].filter(([, file]) => existsSync(clientDir + file)).map(([name, file]) => [name, clientDir + file]),
);

export default defineConfig({
  root: 'client',
  publicDir: 'public',
  plugins: [solid()],
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
    },
  },
});
