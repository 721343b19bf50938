// Builds the PWA from client/ into dist/client, which the relay serves.
import { defineConfig } from 'vite';
import solid from 'vite-plugin-solid';

export default defineConfig({
  root: 'client',
  publicDir: 'public',
  plugins: [solid()],
  worker: { format: 'es' },
  build: {
    outDir: '../dist/client',
    emptyOutDir: true,
    target: 'es2022',
  },
  server: {
    // `npm run dev` proxies the relay so the dev server behaves like production.
    proxy: {
      '/v1': { target: 'http://127.0.0.1:8080', ws: true },
      '/api': 'http://127.0.0.1:8080',
    },
  },
});
