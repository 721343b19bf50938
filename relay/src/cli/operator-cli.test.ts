// `npm run users` and `npm run token` as an operator runs them — child processes on the data dir of a running
// relay (real uWS on loopback, accounting wired as in main.ts, in-process simulator, real `ws` clients) — and
// what each change does to that relay without a restart: per-user voice and instructions, a quota lowered to
// zero mid-session, disable/enable, revoke; then `npm run usage` reports the sessions.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import pino from 'pino';
import { CloseCode } from '../../../protocol/close-codes.ts';
import { createAccounting, type Accounting } from '../accounts/accounting.ts';
import type { UsageReport } from '../accounts/report.ts';
import type { TokenRecord, UserRecord } from '../store/store.ts';
import { RealtimeTestClient } from '../testing/realtime-client.ts';
import { bearer, runCli } from '../testing/operator-cli.ts';
import { startTestRelay, tempDataDir, type TestRelay } from '../testing/start-relay.ts';

const dataDir = tempDataDir('earshot-operator-cli-');
let relay: TestRelay;
let acc: Accounting;

/** The CLIs as the operator of this relay runs them (onboarding links use its public URL). */
const cli = (tool: 'users' | 'token' | 'usage', ...args: string[]) => runCli(tool, dataDir, args, { PUBLIC_URL: 'https://earshot.example' });

async function refusal(token: string): Promise<{ status: number; code: string }> {
  try {
    const c = await RealtimeTestClient.connect(relay.wsUrl, bearer(token));
    await c.close();
  } catch (err) {
    const e = err as { status: number; body: string };
    return { status: e.status, code: (JSON.parse(e.body) as { error: { code: string } }).error.code };
  }
  throw new Error('upgrade was accepted');
}

async function talk(token: string): Promise<RealtimeTestClient> {
  const c = await RealtimeTestClient.connect(relay.wsUrl, bearer(token));
  await c.waitFor('session.updated');
  return c;
}

beforeAll(async () => {
  acc = await createAccounting({ log: pino({ level: 'silent' }), flushIntervalMs: 100 });
  relay = await startTestRelay({ dataDir }, { hooksFactory: acc.hooksFactory, quotaExceeded: (u, user) => acc.quotaExceeded(u, user) });
  acc.attach({ store: relay.store, metrics: relay.metrics });
});
afterAll(async () => {
  await acc.close();
  await relay.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('operator CLIs against a running relay', () => {
  it('users add/set/list/disable/enable and token create/list/revoke round-trip, and the relay applies each at once', { timeout: 180_000 }, async () => {
    // users add / set / list
    const added = await cli('users', 'add', 'bob', '--max-sessions', '1', '--daily-minutes', '30', '--json');
    expect(added.code).toBe(0);
    expect(JSON.parse(added.stdout)).toMatchObject({ id: 'bob', enabled: true, maxSessions: 1, dailyMinutes: 30, monthlyMinutes: null, dailyTokens: null, monthlyTokens: null });
    expect((await cli('users', 'add', 'bob')).stderr).toMatch(/exists/);
    const set = await cli('users', 'set', 'bob', '--voice', 'cedar', '--instructions', 'Answer in French.', '--monthly-minutes', '300', '--daily-tokens', '20000', '--monthly-tokens', '400000');
    expect([set.code, set.stdout.trim()]).toEqual([0, 'updated bob']);
    const listed = JSON.parse((await cli('users', 'list', '--json')).stdout) as UserRecord[];
    expect(listed.find((u) => u.id === 'bob')).toMatchObject({ maxSessions: 1, dailyMinutes: 30, monthlyMinutes: 300, dailyTokens: 20000, monthlyTokens: 400000, voice: 'cedar', instructions: 'Answer in French.' });
    const table = (await cli('users', 'list')).stdout.trim().split('\n');
    expect(table[0]).toMatch(/^USER\s+STATE\s+SESSIONS\s+DAY MIN\s+MONTH MIN\s+DAY TOK\s+MONTH TOK\s+VOICE$/);
    expect(table.find((l) => l.startsWith('bob'))).toMatch(/^bob\s+enabled\s+1\s+30\s+300\s+20000\s+400000\s+cedar$/);
    const mistakes: Array<['users' | 'token', ...string[]]> = [
      ['users', 'set', 'nobody'],
      ['users', 'add', 'bad id!'],
      ['users', 'set', 'bob', '--max-sessions', 'many'],
      ['users', 'set', 'bob', '--daily-minutes', '-1'],
      ['users', 'set', 'bob', '--daily-minutes=-1'],
      ['users', 'set', 'bob', '--colour', 'blue'],
      ['users', 'set', 'bob', '--daily-tokens', '1.5'],
      ['users', 'set', 'bob', '--monthly-tokens', '-3'],
      ['users', 'set', 'bob', '--daily-tokens', ''],
      ['users', 'remove', 'nobody'],
      ['users', 'frobnicate'],
      ['token', 'create'],
      ['token', 'create', '--user', 'bob', '--days', 'forever'],
      ['token', 'create', '--user', 'bob', '--colour', 'blue'],
      ['token', 'revoke'],
    ];
    for (const [tool, ...args] of mistakes) {
      const r = await cli(tool, ...args);
      expect(r.code, `${tool} ${args.join(' ')}`).toBe(1);
      expect(r.stderr, `${tool} ${args.join(' ')}`).toMatch(/^error: /);
      expect(r.stderr).not.toMatch(/\n\s+at /); // a sentence, never a stack trace
    }

    // token create / list
    const created = JSON.parse((await cli('token', 'create', '--user', 'bob', '--days', '7', '--json')).stdout) as { token: string; tokenId: string; link: string; expiresAt: number };
    expect(created.link).toBe(`https://earshot.example/#token=${created.token}`);
    expect(created.expiresAt * 1000 - Date.now()).toBeGreaterThan(6.9 * 86_400_000);
    const human = await cli('token', 'create', '--user', 'bob');
    expect(human.stdout).toContain('https://earshot.example/#token=');
    expect(human.stdout).toMatch(/[▄▀█]/); // the QR code
    const tokens = JSON.parse((await cli('token', 'list', '--json')).stdout) as TokenRecord[];
    expect(tokens.filter((t) => t.userId === 'bob')).toHaveLength(2);
    expect((await cli('token', 'list')).stdout).toMatch(new RegExp(`${created.tokenId}\\s+bob\\s+\\S+\\s+active`));

    // The per-user policy reaches the session; max-sessions 1 is enforced.
    const first = await talk(created.token);
    const policy = first.of('session.updated')[0]!.session;
    expect(policy.type === 'realtime' && [policy.instructions, policy.audio?.output?.voice]).toEqual(['Answer in French.', 'cedar']);
    expect(await refusal(created.token)).toEqual({ status: 429, code: 'too_many_sessions' });

    // A quota lowered to zero by the CLI cuts the live session (4002) and refuses the next (429); raising it lets her in.
    expect((await cli('users', 'set', 'bob', '--daily-minutes', '0')).code).toBe(0);
    expect((await first.closed).code).toBe(CloseCode.QuotaExhausted);
    expect(first.of('error').at(-1)?.error.code).toBe('quota_exhausted');
    expect(await refusal(created.token)).toEqual({ status: 429, code: 'quota_exhausted' });
    expect((await cli('users', 'set', 'bob', '--daily-minutes', 'none')).code).toBe(0);

    // disable closes the live session (4001) and refuses new ones (403) and new tokens; enable lets bob back in.
    const second = await talk(created.token);
    expect((await cli('users', 'disable', 'bob')).stdout.trim()).toBe('disabled bob');
    expect((await second.closed).code).toBe(CloseCode.Revoked);
    expect(await refusal(created.token)).toEqual({ status: 403, code: 'user_disabled' });
    expect((await cli('token', 'create', '--user', 'bob')).stderr).toMatch(/disabled/);
    expect((await cli('users', 'enable', 'bob')).stdout.trim()).toBe('enabled bob');
    const third = await talk(created.token);

    // revoke by user closes the live session (4001) and refuses the token (401); list shows it revoked.
    const revoked = JSON.parse((await cli('token', 'revoke', 'bob', '--json')).stdout) as { revoked: string[] };
    expect(revoked.revoked).toContain(created.tokenId);
    expect((await third.closed).code).toBe(CloseCode.Revoked);
    expect(await refusal(created.token)).toEqual({ status: 401, code: 'token_revoked' });
    expect((await cli('token', 'list')).stdout).toMatch(new RegExp(`${created.tokenId}\\s+bob\\s+\\S+\\s+revoked`));
    expect((await cli('token', 'revoke', 'bob')).code).toBe(1); // nothing active is left
    expect(relay.sessions().size).toBe(0);

    // usage reports the three sessions bob held.
    await acc.flush();
    const report = JSON.parse((await cli('usage', '--user', 'bob', '--json')).stdout) as UsageReport;
    expect(report.users.map((u) => [u.user, u.sessions])).toEqual([['bob', 3]]);
  });
});
