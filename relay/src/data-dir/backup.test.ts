// `earshot backup` while the relay runs, `earshot restore` into an empty dir: every user, token, revocation and
// usage total comes back, as the operator's own commands report them, and the restored dir serves the same
// tokens; the operator console's admins and audit log come back too. All through the built command, in real
// processes, against a real relay.
import { appendFileSync, readFileSync, writeFileSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, realtimeUrl } from '../testing/operator-cli.ts';
import { RealtimeTestClient, speechPcm16 } from '../testing/realtime-client.ts';
import { runEarshot, spawnEarshotServe } from '../testing/built-earshot.ts';
import { tempDataDir, type RelayProcess } from '../testing/start-relay.ts';
import { until } from '../testing/until.ts';

async function earshot(dataDir: string, ...args: string[]): Promise<string> {
  const r = await runEarshot(args, { EARSHOT_DATA_DIR: dataDir });
  if (r.code !== 0) throw new Error(`earshot ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}
const json = async (dataDir: string, ...args: string[]): Promise<unknown> => JSON.parse(await earshot(dataDir, ...args, '--json'));

/** What an operator would compare: users, tokens (with revocations) and usage totals. */
async function state(dataDir: string) {
  return { users: await json(dataDir, 'users', 'list'), tokens: await json(dataDir, 'token', 'list'), usage: await json(dataDir, 'usage') };
}

async function talk(relay: RelayProcess, token: string, pcm: Buffer): Promise<void> {
  const client = await RealtimeTestClient.connect(realtimeUrl(relay), bearer(token));
  await client.waitFor('session.updated');
  client.appendAudio(pcm);
  await client.waitFor('response.done', { timeoutMs: 60_000 });
  await client.close();
}

// Every step is a real process (the built command, a relay); on a loaded machine one takes seconds, so hooks
// and tests have deadlines of minutes, and waits end on what the operator's report shows.
const work = tempDataDir('earshot-backup-test-');
const dataDir = join(work, 'data');
let relay: RelayProcess;
let alice: string[];
let bobToken: string;
const AUDIT_LINE = JSON.stringify({ t: Date.parse('2026-12-01T10:00:00Z'), admin: 'owner', action: 'person_add', target: 'carol', address: '127.0.0.1' });

beforeAll(async () => {
  relay = await spawnEarshotServe({ EARSHOT_DATA_DIR: dataDir });
  await earshot(dataDir, 'users', 'add', 'alice', '--daily-minutes', '60', '--voice', 'cedar');
  await earshot(dataDir, 'users', 'add', 'carol', '--max-sessions', '1');
  await earshot(dataDir, 'users', 'disable', 'carol');
  const mint = async (user: string) => ((await json(dataDir, 'token', 'create', '--user', user)) as { token: string; tokenId: string });
  alice = [(await mint('alice')).token, (await mint('alice')).token];
  const bob = await mint('bob');
  bobToken = bob.token;
  await talk(relay, bobToken, speechPcm16('hello there', 0.5));
  await earshot(dataDir, 'token', 'revoke', bob.tokenId);
  await talk(relay, alice[0]!, speechPcm16('what is the weather like today', 0.5));
  // Sessions end with a final usage record flushed at once; wait until the operator's report has it.
  await until('both sessions in the usage report', async () => ((await json(dataDir, 'usage')) as { users: unknown[] }).users.length === 2, 60_000);
  // The operator console's state: alice is made an operator (admin.json), and the audit log holds one whole
  // entry and one being appended as the backup runs (torn: no newline yet).
  await earshot(dataDir, 'admin', 'link', '--user', 'alice', '--json');
  appendFileSync(join(dataDir, 'admin-audit.jsonl'), `${AUDIT_LINE}\n{"t":${Date.now()},"admin":"ali`);
}, 600_000);

afterAll(async () => {
  await relay?.stop();
});

describe('earshot backup / restore', () => {
  it('restores every user, token, revocation and usage total of a backup taken while the relay runs', async () => {
    const before = await state(dataDir);
    const file = join(work, 'quiet.tgz');
    const summary = JSON.parse(await earshot(dataDir, 'backup', file, '--json')) as { users: number; tokens: number; revokedTokens: number };
    // owner (first run), alice, bob, carol; owner's, alice's two and bob's revoked one.
    expect(summary).toMatchObject({ users: 4, tokens: 4, revokedTokens: 1 });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const restored = join(work, 'restored-quiet');
    await earshot(dataDir, 'restore', file, '--data-dir', restored);
    expect(await state(restored)).toEqual(before);
    expect(readFileSync(join(restored, 'secret.key'), 'utf8')).toBe(readFileSync(join(dataDir, 'secret.key'), 'utf8'));
    // The console's operators, and its audit log up to the last whole entry.
    expect((await earshot(restored, 'admin', 'list')).split('\n').filter(Boolean).sort()).toEqual(['alice', 'owner']);
    expect(readFileSync(join(restored, 'admin-audit.jsonl'), 'utf8')).toBe(`${AUDIT_LINE}\n`);
    expect(statSync(restored).mode & 0o777).toBe(0o700);
  }, 480_000);

  it('a backup taken mid-session restores a consistent log, and a relay on it honours the same tokens and revocations', async () => {
    const client = await RealtimeTestClient.connect(realtimeUrl(relay), bearer(alice[1]!));
    await client.waitFor('session.updated');
    const silence = Buffer.alloc(960);
    const streaming = setInterval(() => client.appendAudio(silence), 20);
    const file = join(work, 'live.tgz');
    let during: { users: Array<{ user: string; inputAudioSeconds: number }> };
    try {
      // Wait until the live session's records are in the log, so the backup cuts into a growing file.
      const quiet = ((await json(dataDir, 'usage')) as typeof during).users.find((u) => u.user === 'alice')!.inputAudioSeconds;
      await until('live usage in the log', async () => ((await json(dataDir, 'usage')) as typeof during).users.find((u) => u.user === 'alice')!.inputAudioSeconds > quiet, 60_000);
      await earshot(dataDir, 'backup', file);
      during = (await json(dataDir, 'usage')) as typeof during;
    } finally {
      clearInterval(streaming);
      await client.close();
    }
    const restored = join(work, 'restored-live');
    await earshot(dataDir, 'restore', file, '--data-dir', restored);
    const report = (await json(restored, 'usage')) as typeof during;
    const at = (r: typeof during) => r.users.find((u) => u.user === 'alice')!.inputAudioSeconds;
    expect(at(report)).toBeGreaterThan(0);
    expect(at(report)).toBeLessThanOrEqual(at(during));

    const second = await spawnEarshotServe({ EARSHOT_DATA_DIR: restored });
    try {
      const ok = await RealtimeTestClient.connect(realtimeUrl(second), bearer(alice[0]!));
      await ok.waitFor('session.updated');
      await ok.close();
      const refused = await RealtimeTestClient.connect(realtimeUrl(second), bearer(bobToken)).then(
        () => null,
        (err: { status?: number; body?: string }) => err,
      );
      expect(refused?.status).toBe(401);
      expect(refused?.body).toContain('token_revoked');
    } finally {
      await second.stop();
    }
  }, 480_000);

  it('refuses to restore into a directory that is not empty, and changes nothing', async () => {
    const file = join(work, 'quiet.tgz');
    const target = join(work, 'occupied');
    mkdirSync(target);
    writeFileSync(join(target, 'keep.txt'), 'mine');
    const r = await runEarshot(['restore', file, '--data-dir', target], {});
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('is not empty');
    expect(readFileSync(join(target, 'keep.txt'), 'utf8')).toBe('mine');
    expect(existsSync(join(target, 'earshot.db'))).toBe(false);
  }, 120_000);

  it('refuses a damaged backup without creating the target', async () => {
    const bytes = readFileSync(join(work, 'quiet.tgz'));
    bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
    const damaged = join(work, 'damaged.tgz');
    writeFileSync(damaged, bytes);
    const target = join(work, 'from-damaged');
    const r = await runEarshot(['restore', damaged, '--data-dir', target], {});
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/not a readable backup|damaged|not an Earshot backup/);
    expect(existsSync(target)).toBe(false);
  }, 120_000);
});
