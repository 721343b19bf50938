// The production build of the PWA (dist/client), for the set-ups that need it: browser tests, the latency bench,
// and the secrets scan of static files. Always the real `vite build`, never the dev server.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { REPO_ROOT } from './start-relay.ts';

export const DIST_CLIENT = join(REPO_ROOT, 'dist/client');

export function buildPwa(): void {
  // vite 8 does not export './bin/vite.js'; find the bin next to its (exported) package.json.
  const vite = join(dirname(createRequire(import.meta.url).resolve('vite/package.json')), 'bin', 'vite.js');
  execFileSync(process.execPath, [vite, 'build', '--logLevel', 'warn'], { cwd: REPO_ROOT, stdio: 'inherit' });
}

/** Builds only when there is no build yet (the app and the audio lab page are both part of it). */
export function ensurePwaBuilt(): void {
  if (!existsSync(join(DIST_CLIENT, 'index.html')) || !existsSync(join(DIST_CLIENT, 'audio-lab.html'))) buildPwa();
}
