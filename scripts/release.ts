// `npm run release`: a versioned release tarball, release/earshot-<version>.tgz (`npm pack` of the built
// package). It holds the built PWA (dist/client), the built relay and CLIs (dist/relay/earshot.js), deploy/ and
// docs/, and the lockfile as npm-shrinkwrap.json, so `npm ci --omit=dev` in the unpacked release installs
// exactly the versions this repo was tested with, production dependencies only.
// (npm pack never includes package-lock.json; a shrinkwrap is the lockfile a package carries.)
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const outDir = join(root, 'release');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const run = (args: string[]) => execFileSync(npm, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });

if (!process.argv.includes('--skip-pwa')) run(['run', 'build']);
run(['run', 'build:relay']);
mkdirSync(outDir, { recursive: true });
const shrinkwrap = join(root, 'npm-shrinkwrap.json');
copyFileSync(join(root, 'package-lock.json'), shrinkwrap);
try {
  const [packed] = JSON.parse(run(['pack', '--json', '--pack-destination', outDir])) as Array<{ filename: string; version: string; entryCount: number }>;
  if (!packed) throw new Error('npm pack reported nothing');
  const file = join(outDir, packed.filename);
  console.log(JSON.stringify({ release: packed.version, file, bytes: statSync(file).size, files: packed.entryCount }));
} finally {
  rmSync(shrinkwrap, { force: true });
}
