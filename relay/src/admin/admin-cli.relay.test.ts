// How an operator gets into the console: `earshot admin link` (a real CLI process beside a running relay) and
// the first run of a real relay process on an empty data dir.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../testing/operator-cli.ts';
import { spawnRelayProcess, startTestRelay, tempDataDir, type RelayProcess, type TestRelay } from '../testing/start-relay.ts';
import { FIRST_RUN_ADMIN_FILE } from './first-run-admin.ts';

const started: Array<TestRelay | RelayProcess> = [];
afterAll(async () => {
  for (const r of started) await ('child' in r ? r.stop() : r.stop());
});

async function signIn(base: string, link: string): Promise<Response> {
  const secret = new URL(link).hash.replace(/^#signin=/, '');
  return fetch(`${base}/admin/api/session`, { method: 'POST', headers: { origin: base, 'content-type': 'application/json' }, body: JSON.stringify({ link: secret }) });
}

describe('getting into the operator console', () => {
  it('`earshot admin link` grants the role and prints a one-time link the running relay accepts once', async () => {
    const relay = await startTestRelay();
    started.push(relay);
    const r = await runCli('admin', relay.config.dataDir, ['link', '--user', 'ops', '--json'], { PUBLIC_URL: relay.url });
    expect(r.code, r.stderr).toBe(0);
    const { link, user } = JSON.parse(r.stdout) as { link: string; user: string };
    expect(user).toBe('ops');
    expect(link).toMatch(new RegExp(`^${relay.url}/admin/#signin=[A-Za-z0-9_-]{43}$`));
    expect(await relay.store.getUser('ops')).toBeDefined(); // the CLI created the person it made an operator
    expect((await signIn(relay.url, link)).status).toBe(200);
    expect((await signIn(relay.url, link)).status).toBe(401);
    expect((await runCli('admin', relay.config.dataDir, ['list'])).stdout.trim()).toBe('ops');
    expect((await runCli('admin', relay.config.dataDir, ['link', '--minutes', '0'])).code).toBe(1);
  });

  it('the first start writes a 0600 file with a sign-in link for owner, and logs only where it is', async () => {
    const dataDir = tempDataDir();
    const relay = await spawnRelayProcess({ EARSHOT_DATA_DIR: dataDir });
    started.push(relay);
    const file = join(dataDir, FIRST_RUN_ADMIN_FILE);
    await expect.poll(() => { try { return readFileSync(file, 'utf8'); } catch { return ''; } }, { timeout: 20_000 }).toMatch(/\/admin\/#signin=/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const link = readFileSync(file, 'utf8').trim();
    expect(relay.lines.join('\n')).not.toContain(new URL(link).hash.slice(8));
    const answer = await signIn(relay.url, link);
    expect(answer.status).toBe(200);
    expect(((await answer.json()) as { admin: string }).admin).toBe('owner');
  });
});
