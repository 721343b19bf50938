// The built `earshot` command (dist/relay/earshot.js, what a production install runs), for tests that must
// exercise the real artefact rather than the TypeScript sources: built once per test process, run as a child.
import { execFile, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { CliResult } from './operator-cli.ts';
import { REPO_ROOT, spawnRelayProcess, type RelayProcess } from './start-relay.ts';

const exec = promisify(execFile);
let built: string | undefined;

/** Builds dist/relay/earshot.js from the current sources (esbuild, about a second) and returns its path. */
export function buildEarshot(): string {
  if (built === undefined) {
    execFileSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'scripts/build-relay.ts')], { cwd: REPO_ROOT, stdio: 'ignore' });
    built = join(REPO_ROOT, 'dist/relay/earshot.js');
  }
  return built;
}

/**
 * `earshot <args>` with exactly `env` (plus PATH), run in `cwd` (a release test passes a directory outside the
 * checkout, so nothing is found through it); never throws on a non-zero exit. The deadline is generous: on a
 * loaded machine one start of Node takes seconds.
 */
export async function runEarshot(args: string[], env: Record<string, string>, bin = buildEarshot(), cwd = REPO_ROOT): Promise<CliResult> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [bin, ...args], { cwd, env: { PATH: process.env.PATH ?? '', ...env }, timeout: 120_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw err;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** `earshot serve` as a process; resolves once it listens. */
export function spawnEarshotServe(env: Record<string, string>, bin = buildEarshot(), cwd = REPO_ROOT): Promise<RelayProcess> {
  return spawnRelayProcess(env, { script: [bin, 'serve'], cwd });
}
