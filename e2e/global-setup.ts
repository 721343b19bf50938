// Browser tests run against the production build, never the dev server: build it once per run.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';

export default function setup(): void {
  if (process.env.EARSHOT_SKIP_BUILD === '1') return;
  const vite = createRequire(import.meta.url).resolve('vite/bin/vite.js');
  execFileSync(process.execPath, [vite, 'build', '--logLevel', 'warn'], { stdio: 'inherit' });
}
