// The production build of the PWA (dist/client), for the set-ups that need it: browser tests, the latency bench,
// and the secrets scan of static files. Always the real `vite build`, never the dev server.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { REPO_ROOT } from './start-relay.ts';

export const DIST_CLIENT = join(REPO_ROOT, 'dist/client');

/** What the build is made from: a change to any of these makes an existing build stale. */
const BUILD_INPUTS = ['client', 'protocol', 'vite.config.ts', 'package.json'].map((p) => join(REPO_ROOT, p));

export function buildPwa(): void {
  // vite 8 does not export './bin/vite.js'; find the bin next to its (exported) package.json.
  const vite = join(dirname(createRequire(import.meta.url).resolve('vite/package.json')), 'bin', 'vite.js');
  execFileSync(process.execPath, [vite, 'build', '--logLevel', 'warn'], { cwd: REPO_ROOT, stdio: 'inherit' });
}

/** Newest modification time (ms) of a file or of any file under a folder; 0 if there is none. */
export function newestMtimeMs(path: string): number {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = 0; // a folder's own time changes with unrelated writes (editor swap files): files only
  for (const entry of readdirSync(path)) {
    if (entry === 'node_modules') continue;
    newest = Math.max(newest, newestMtimeMs(join(path, entry)));
  }
  return newest;
}

/**
 * True when `dist` lacks a page or is older than a build input. A build kept from an earlier checkout is stale:
 * a bench would measure yesterday's app (the likeliest reason bench:mobile once showed the v2 latency read-out
 * growing 4.5 s per reply — the figure of the WebCodecs stamp bug fixed before it — which a fresh build of the same
 * source does not show).
 */
export function buildIsStale(dist: string, inputs: string[], pages = ['index.html', 'audio-lab.html']): boolean {
  const built = pages.map((p) => join(dist, p));
  if (!built.every((p) => existsSync(p))) return true;
  const builtAt = Math.min(...built.map((p) => statSync(p).mtimeMs));
  return inputs.some((input) => newestMtimeMs(input) > builtAt);
}

/** Builds when there is no build yet or the sources changed since (the app and the audio lab page are both in it). */
export function ensurePwaBuilt(): void {
  if (buildIsStale(DIST_CLIENT, BUILD_INPUTS)) buildPwa();
}
