// `npm run build:relay`: the relay and the operator CLIs as one JavaScript file, dist/relay/earshot.js (the
// package's `earshot` bin), so a server runs on production dependencies only — no tsx, no TypeScript.
// Packages stay external (installed by `npm ci --omit=dev`, native uWS binding included); only this repo's own
// code is bundled. The build fails if the bundle imports a package that is not in `dependencies`, which is
// exactly what would break a production install.
import { builtinModules } from 'node:module';
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as esbuild from 'esbuild';

const root = resolve(import.meta.dirname, '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
const outfile = join(root, 'dist/relay/earshot.js');

const result = await esbuild.build({
  // Each worker thread is its own entry: a worker starts from a file (transcode/pool.ts, store/sqlite-writer.ts).
  entryPoints: {
    earshot: join(root, 'relay/src/cli/earshot.ts'),
    'opus.worker': join(root, 'relay/src/transcode/opus.worker.ts'),
    'sqlite-writer.worker': join(root, 'relay/src/store/sqlite-writer.worker.ts'),
  },
  outdir: join(root, 'dist/relay'),
  bundle: true,
  packages: 'external',
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'linked',
  metafile: true,
  logLevel: 'warning',
  legalComments: 'none',
  // Written below through a temp file + rename: tests run the bundle while another test may be rebuilding it.
  write: false,
});

/** `uWebSockets.js`, `pino`, `openai/resources/…` → the package name. */
const packageOf = (specifier: string): string => (specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!);
const builtins = new Set(builtinModules);
const imported = new Set(
  Object.values(result.metafile.outputs)
    .flatMap((o) => o.imports)
    .filter((i) => i.external && !i.path.startsWith('node:') && !builtins.has(i.path))
    .map((i) => packageOf(i.path)),
);
const missing = [...imported].filter((name) => !(name in pkg.dependencies));
if (missing.length > 0) {
  console.error(`build:relay: the relay imports ${missing.join(', ')} at runtime, but package.json lists ${missing.length === 1 ? 'it' : 'them'} outside "dependencies": a production install (npm ci --omit=dev) would break. Move ${missing.length === 1 ? 'it' : 'them'} to "dependencies".`);
  process.exit(1);
}
mkdirSync(join(root, 'dist/relay'), { recursive: true });
for (const file of result.outputFiles) {
  const tmp = `${file.path}.${process.pid}.tmp`;
  writeFileSync(tmp, file.contents);
  if (file.path === outfile) chmodSync(tmp, 0o755);
  renameSync(tmp, file.path);
}
console.log(`build:relay: ${outfile} (runtime packages: ${[...imported].sort().join(', ')})`);
