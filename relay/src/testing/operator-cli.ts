// The operator's CLIs (`npm run users|token|usage`) run for real, as child processes on a data directory, the way
// an operator runs them, plus the small helpers tests use to talk to a relay process.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { UsageReport } from '../accounts/report.ts';
import { REPO_ROOT, type RelayProcess } from './start-relay.ts';

const exec = promisify(execFile);

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Never throws on a non-zero exit: refusals are what many tests look at. */
export async function runCli(tool: 'users' | 'token' | 'usage' | 'admin', dataDir: string, args: string[], env: Record<string, string> = {}, options: { timeoutMs?: number } = {}): Promise<CliResult> {
  try {
    const { stdout, stderr } = await exec(process.execPath, ['--import', 'tsx', join(REPO_ROOT, `relay/src/cli/${tool}.ts`), ...args], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', EARSHOT_DATA_DIR: dataDir, ...env },
      // A CLI is a fresh Node process compiling TypeScript: seconds on a loaded two-core CI machine. The deadline
      // only catches a hung CLI, so it is generous.
      timeout: options.timeoutMs ?? 120_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string; message: string };
    if (typeof e.code !== 'number') throw err; // not an exit code: the CLI could not be run at all
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** `npm run usage -- --json [...args]`, as an operator would read it. */
export async function usageReport(dataDir: string, ...args: string[]): Promise<UsageReport> {
  const r = await runCli('usage', dataDir, ['--json', ...args]);
  if (r.code !== 0) throw new Error(`usage CLI exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as UsageReport;
}

/** The Realtime endpoint of a relay process. */
export const realtimeUrl = (p: RelayProcess) => `${p.url.replace(/^http/, 'ws')}/v1/realtime?model=gpt-realtime`;

/** `ws` client options that present `token` the way SDKs and servers do. */
export const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });
