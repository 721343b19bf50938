// Browser tests run against the production build, never the dev server: build it once per run.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export default function setup(): void {
  if (process.env.EARSHOT_SKIP_BUILD === '1') return;
  // vite 8 does not export './bin/vite.js'; find the bin next to its (exported) package.json.
  const vite = join(dirname(createRequire(import.meta.url).resolve('vite/package.json')), 'bin', 'vite.js');
  execFileSync(process.execPath, [vite, 'build', '--logLevel', 'warn'], { stdio: 'inherit' });
}
