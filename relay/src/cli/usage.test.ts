// `npm run usage` as an operator runs it: a child process over a data dir whose usage the real SQLite store wrote.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { UsageReport } from '../accounts/report.ts';
import { SqliteStore } from '../store/sqlite-store.ts';
import type { UsageRecord } from '../store/store.ts';
import { REPO_ROOT } from '../testing/start-relay.ts';

const exec = promisify(execFile);
const dataDir = mkdtempSync(join(tmpdir(), 'earshot-usage-cli-'));
const S = 48_000; // bytes per second of audio

async function usage(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'relay/src/cli/usage.ts'), ...args], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', EARSHOT_DATA_DIR: dataDir },
      timeout: 20_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const at = (day: string, hh = 12) => Date.parse(`${day}T${String(hh).padStart(2, '0')}:00:00Z`);
const rec = (t: number, u: string, s: string, first: boolean, seconds: number): UsageRecord => ({
  at: t,
  userId: u,
  sessionId: s,
  first,
  end: false,
  counters: { connectedMs: seconds * 1000, inputAudioBytes: seconds * S, outputAudioBytes: (seconds / 2) * S, textInputTokens: 1, textOutputTokens: 2, audioInputTokens: 3, audioOutputTokens: 4 },
});

beforeAll(async () => {
  const store = await SqliteStore.open(dataDir);
  await store.appendUsage([rec(at('2026-10-31', 23), 'alice', 'a1', true, 60)]); // October
  await store.appendUsage([rec(at('2026-11-02'), 'alice', 'a2', true, 30), rec(at('2026-11-02', 13), 'alice', 'a2', false, 30)]);
  await store.appendUsage([rec(at('2026-11-05'), 'bob', 'b1', true, 120)]);
  await store.close();
});
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe('npm run usage', () => {
  it('prints per-user and per-day totals as JSON, across months', async () => {
    const { code, stdout } = await usage('--json');
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as UsageReport;
    expect(report.users).toEqual([
      { user: 'alice', sessions: 2, connectedSeconds: 120, inputAudioSeconds: 120, outputAudioSeconds: 60, spokenMinutes: 3, tokens: 30, textTokensIn: 3, textTokensOut: 6, audioTokensIn: 9, audioTokensOut: 12 },
      { user: 'bob', sessions: 1, connectedSeconds: 120, inputAudioSeconds: 120, outputAudioSeconds: 60, spokenMinutes: 3, tokens: 10, textTokensIn: 1, textTokensOut: 2, audioTokensIn: 3, audioTokensOut: 4 },
    ]);
    expect(report.days).toEqual([
      { day: '2026-10-31', users: 1, sessions: 1, spokenMinutes: 1.5, tokens: 10 },
      { day: '2026-11-02', users: 1, sessions: 1, spokenMinutes: 1.5, tokens: 20 },
      { day: '2026-11-05', users: 1, sessions: 1, spokenMinutes: 3, tokens: 10 },
    ]);
  });

  it('filters by user and by a UTC date range', async () => {
    const report = JSON.parse((await usage('--json', '--user', 'alice', '--since', '2026-11-01', '--until', '2026-11-02')).stdout) as UsageReport;
    expect(report.users.map((u) => [u.user, u.sessions, u.inputAudioSeconds])).toEqual([['alice', 1, 60]]);
  });

  it('prints a table with a total row', async () => {
    const { code, stdout } = await usage('--since', '2026-11-01');
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^USER\s+SESSIONS\s+CONNECTED MIN\s+SPOKEN MIN\s+TOKENS\s+INPUT AUDIO MIN\s+OUTPUT AUDIO MIN\s+TEXT TOK IN\s+TEXT TOK OUT\s+AUDIO TOK IN\s+AUDIO TOK OUT$/);
    expect(lines[1]).toMatch(/^alice\s+1\s+1\.0\s+1\.5\s+20\s+1\.0\s+0\.5\s+2\s+4\s+6\s+8$/);
    expect(lines[2]).toMatch(/^bob\s+1\s+2\.0\s+3\.0\s+10\s+2\.0\s+1\.0\s+1\s+2\s+3\s+4$/);
    expect(lines[3]).toMatch(/^TOTAL\s+2\s+3\.0\s+4\.5\s+30\s+3\.0\s+1\.5\s+3\s+6\s+9\s+12$/);
    expect(lines[4]).toBe('');
    expect(lines[5]).toMatch(/^DAY\s+USERS\s+SESSIONS\s+SPOKEN MIN\s+TOKENS$/);
    expect(lines[6]).toMatch(/^2026-11-02\s+1\s+1\s+1\.5\s+20$/);
    expect(lines[7]).toMatch(/^2026-11-05\s+1\s+1\s+3\.0\s+10$/);
  });

  it('refuses a malformed date or an unknown flag with exit code 1 and a hint', async () => {
    const bad = await usage('--since', 'November');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--since must be a UTC date like 2026-11-01/);
    const unknown = await usage('--users', 'x');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/usage: npm run usage --/);
  });
});
