// Runs the operator's `usage` CLI for real (a child process reading the data directory), as tests that check
// what survived a crash, a restart or a full disk must: the numbers an operator would see.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { UsageReport } from '../accounts/report.ts';
import { REPO_ROOT, type RelayProcess } from './start-relay.ts';

const run = promisify(execFile);

export async function usageReport(dataDir: string, ...args: string[]): Promise<UsageReport> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'relay/src/cli/usage.ts'), '--json', ...args], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', EARSHOT_DATA_DIR: dataDir },
    timeout: 20_000,
  });
  return JSON.parse(stdout) as UsageReport;
}

/** The Realtime endpoint of a relay process. */
export const realtimeUrl = (p: RelayProcess) => `${p.url.replace(/^http/, 'ws')}/v1/realtime?model=gpt-realtime`;

/** `ws` client options that present `token` the way SDKs and servers do. */
export const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });
