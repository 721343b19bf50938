// Type-checks every runtime with its own tsconfig (DOM app, WebWorker workers, worklets, Node relay, bare protocol).
// A project whose tsconfig is missing is skipped, so the list can name projects before they exist.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

const projects = [
  'tsconfig.json',
  'protocol/tsconfig.json',
  'relay/tsconfig.json',
  'client/tsconfig.json',
  'client/tsconfig.worker.json',
  'client/tsconfig.worklet.json',
  'client/tsconfig.test.json',
];
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
let failed = 0;
for (const project of projects) {
  if (!existsSync(project)) continue;
  const run = spawnSync(process.execPath, [tsc, '-p', project], { stdio: 'inherit' });
  console.log(`typecheck ${project}: ${run.status === 0 ? 'ok' : 'FAILED'}`);
  if (run.status !== 0) failed++;
}
process.exit(failed === 0 ? 0 : 1);
