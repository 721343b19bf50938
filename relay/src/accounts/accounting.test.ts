// Accounting driven through its public hooks with a real SQLite store on disk and a controlled clock.
// (The same hooks wired into a real relay are exercised in accounts.relay.test.ts.)
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { CloseCode } from '../../../protocol/close-codes.ts';
import Database from 'better-sqlite3';
import { SqliteStore, sqlitePath, type SqliteStoreOptions } from '../store/sqlite-store.ts';
import { StoreError } from '../store/store.ts';
import { createMetrics } from '../http/metrics.ts';
import type { SessionHooks } from '../session/hooks.ts';
import { createAccounting, TAKE_SLICE, type Accounting } from './accounting.ts';
import { PCM16_BYTES_PER_SECOND } from './meter.ts';

const silent = pino({ level: 'silent' });
const dirs: string[] = [];
const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'earshot-acct-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const enc = new TextEncoder();
/** One append carrying `seconds` of pcm16 audio. */
const append = (seconds: number): Uint8Array =>
  enc.encode(JSON.stringify({ type: 'input_audio_buffer.append', audio: Buffer.alloc(Math.round(seconds * PCM16_BYTES_PER_SECOND)).toString('base64') }));
const outDelta = (seconds: number): string =>
  JSON.stringify({ type: 'response.output_audio.delta', event_id: 'e', response_id: 'r', item_id: 'i', output_index: 0, content_index: 0, delta: Buffer.alloc(Math.round(seconds * PCM16_BYTES_PER_SECOND)).toString('base64') });

interface Harness {
  acc: Accounting;
  store: SqliteStore;
  clock: { t: number };
  open(userId: string, sessionId: string): { hooks: SessionHooks; terminated: Array<{ code: number; errorCode: string; message: string }> };
}

async function harness(dataDir: string, start = Date.UTC(2026, 10, 24, 10), storeOptions: SqliteStoreOptions = {}): Promise<Harness> {
  const clock = { t: start };
  const store = await SqliteStore.open(dataDir, storeOptions);
  // A huge interval: these tests drive ticks with flush() so nothing depends on timing.
  const acc = await createAccounting({ store, log: silent, now: () => clock.t, flushIntervalMs: 3_600_000 });
  return {
    acc,
    store,
    clock,
    open(userId, sessionId) {
      const terminated: Array<{ code: number; errorCode: string; message: string }> = [];
      let hooks: SessionHooks;
      const control = {
        terminate(code: number, errorCode: string, message: string) {
          terminated.push({ code, errorCode, message });
          hooks.onEnd(); // as the bridge does: terminate ends the session at once
        },
      };
      hooks = acc.hooksFactory({ sessionId, userId, tokenId: 't', startedAt: clock.t }, control);
      return { hooks, terminated };
    },
  };
}

describe('accounting', () => {
  it('counts a batch once when a quota read lands between its commit on the writer thread and the reply', async () => {
    const dir = tempDir();
    const h = await harness(dir, undefined, { writer: 'worker' });
    await h.store.upsertUser({ id: 'alice', dailyMinutes: 600 });
    await h.store.appendUsage([{ at: h.clock.t, userId: 'warm-up', sessionId: 'w', first: true, end: true, counters: { connectedMs: 0, inputAudioBytes: 0, outputAudioBytes: 0, textInputTokens: 0, textOutputTokens: 0, audioInputTokens: 0, audioOutputTokens: 0 } }]);
    const s = h.open('alice', 's1');
    s.hooks.onClientFrame('input_audio_buffer.append', append(10));
    h.clock.t += 1_000;
    const flushed = h.acc.flush(); // the batch goes to the writer thread
    // Hold this thread until the writer thread has committed: its reply cannot be handled meanwhile, so the
    // read below starts inside the window where the store has the batch and accounting still holds it in flight.
    const probe = new Database(sqlitePath(dir), { readonly: true });
    const committed = probe.prepare("SELECT count(*) AS n FROM usage_records WHERE session_id = 's1'");
    const giveUp = Date.now() + 10_000;
    while ((committed.get() as { n: number }).n === 0) if (Date.now() > giveUp) throw new Error('the writer thread never committed');
    probe.close();
    const during = h.acc.totals('alice');
    const exceeded = h.acc.quotaExceeded('alice');
    expect((await during).today.inputAudioBytes).toBe(10 * PCM16_BYTES_PER_SECOND);
    expect(await exceeded).toBe(false);
    await flushed;
    expect((await h.acc.totals('alice')).today.inputAudioBytes).toBe(10 * PCM16_BYTES_PER_SECOND);
    await h.acc.close();
    await h.store.close();
  });

  it('stores each session durably and rebuilds the same totals after a restart', async () => {
    const dir = tempDir();
    const h = await harness(dir);
    await h.store.upsertUser({ id: 'alice' });
    const a = h.open('alice', 's1');
    for (let i = 0; i < 100; i++) a.hooks.onClientFrame('input_audio_buffer.append', append(0.02));
    a.hooks.onServerFrame('response.output_audio.delta', outDelta(1.5));
    h.clock.t += 3_000;
    await h.acc.flush();
    a.hooks.onServerFrame('response.done', JSON.stringify({ type: 'response.done', response: { usage: { input_token_details: { text_tokens: 1, audio_tokens: 2 }, output_token_details: { text_tokens: 3, audio_tokens: 4 } } } }));
    h.clock.t += 1_000;
    a.hooks.onEnd();
    const b = h.open('alice', 's2');
    b.hooks.onClientFrame('input_audio_buffer.append', append(0.5));
    h.clock.t += 500;
    const before = (await h.acc.totals('alice'));
    expect(before.liveSessions).toBe(1);
    expect(before.today).toMatchObject({ sessions: 1, connectedMs: 4_500, inputAudioBytes: 2.5 * PCM16_BYTES_PER_SECOND, outputAudioBytes: 1.5 * PCM16_BYTES_PER_SECOND, textInputTokens: 1, audioInputTokens: 2, textOutputTokens: 3, audioOutputTokens: 4 });
    await h.acc.close(); // s2 still open: its usage so far is stored too

    const again = await harness(dir, h.clock.t);
    const after = (await again.acc.totals('alice'));
    expect(after.liveSessions).toBe(0);
    expect(after.today).toEqual({ ...before.today, sessions: 2 });
    expect(after.month).toEqual(after.today);
    await again.acc.close();
  });

  it('cuts a session off with 4002 and a sentence naming the daily limit once live usage reaches it', async () => {
    const h = await harness(tempDir());
    await h.store.upsertUser({ id: 'bob', dailyMinutes: 0.05 }); // 3 spoken seconds
    const s = h.open('bob', 's1');
    s.hooks.onClientFrame('input_audio_buffer.append', append(1));
    s.hooks.onServerFrame('response.output_audio.delta', outDelta(1));
    h.clock.t += 2_000;
    await h.acc.flush();
    expect(s.terminated).toEqual([]);
    expect(await h.acc.quotaExceeded('bob')).toBe(false);
    s.hooks.onClientFrame('input_audio_buffer.append', append(1));
    h.clock.t += 1_000;
    await h.acc.flush();
    expect(s.terminated).toHaveLength(1);
    expect(s.terminated[0]).toMatchObject({ code: CloseCode.QuotaExhausted, errorCode: 'quota_exhausted' });
    expect(s.terminated[0]!.message).toMatch(/^You have used your 0\.05 spoken minutes for today — .*midnight UTC/);
    expect((await h.acc.totals('bob')).quota).toMatchObject({ ok: false, period: 'day' });
    await h.acc.close();
  });

  it('refuses a new session when usage still unsaved in a live session already reached the quota', async () => {
    const h = await harness(tempDir());
    await h.store.upsertUser({ id: 'carol', dailyMinutes: 1 });
    const s = h.open('carol', 's1');
    s.hooks.onClientFrame('input_audio_buffer.append', append(60));
    expect(await h.acc.quotaExceeded('carol')).toBe(true); // no tick yet: pending counters count
    expect(await h.acc.quotaExceeded('nobody')).toBe(false);
    await h.store.upsertUser({ id: 'zero', dailyMinutes: 0 });
    expect(await h.acc.quotaExceeded('zero')).toBe(true);
    await h.acc.close();
  });

  it('attributes usage to the UTC day it was counted in, while the month quota spans days', async () => {
    const h = await harness(tempDir(), Date.UTC(2026, 10, 23, 23, 59, 0));
    await h.store.upsertUser({ id: 'dave', dailyMinutes: 2, monthlyMinutes: 3 });
    const s = h.open('dave', 's1');
    s.hooks.onClientFrame('input_audio_buffer.append', append(90));
    h.clock.t += 30_000; // 23:59:30 on the 23rd
    await h.acc.flush(); // 1.5 min on the 23rd: under both limits
    expect(s.terminated).toEqual([]);
    h.clock.t += 31_000; // 00:00:01 on the 24th: a new day, the same month
    expect((await h.acc.totals('dave')).today.inputAudioBytes).toBe(0);
    expect((await h.acc.totals('dave')).month.inputAudioBytes).toBe(90 * PCM16_BYTES_PER_SECOND);
    s.hooks.onClientFrame('input_audio_buffer.append', append(60));
    await h.acc.flush(); // 1 min today (under 2), but 2.5 min this month (under 3)
    expect(s.terminated).toEqual([]);
    s.hooks.onClientFrame('input_audio_buffer.append', append(45));
    await h.acc.flush(); // 1.75 min today, 3.25 min this month: the month runs out first
    expect(s.terminated[0]?.message).toMatch(/for this month/);
    await h.acc.close();
  });

  it('names the month and when it renews when the monthly quota runs out', async () => {
    const h = await harness(tempDir(), Date.UTC(2026, 11, 10));
    await h.store.upsertUser({ id: 'erin', monthlyMinutes: 1 });
    const s = h.open('erin', 's1');
    s.hooks.onClientFrame('input_audio_buffer.append', append(61));
    h.clock.t += 1_000;
    await h.acc.flush();
    expect(s.terminated[0]?.message).toMatch(/^You have used your 1 spoken minute for this month — more becomes available on 1 January \(UTC\)/);
    await h.acc.close();
  });

  it('applies a quota lowered from another process (the users CLI) to a live session', async () => {
    const dir = tempDir();
    const h = await harness(dir);
    await h.store.upsertUser({ id: 'fay' });
    const s = h.open('fay', 's1');
    s.hooks.onClientFrame('input_audio_buffer.append', append(30));
    h.clock.t += 1_000;
    await h.acc.flush();
    expect(s.terminated).toEqual([]);
    const cli = await SqliteStore.open(dir);
    await cli.upsertUser({ id: 'fay', dailyMinutes: 0.25 });
    await cli.close();
    await h.acc.flush();
    expect(s.terminated[0]?.code).toBe(CloseCode.QuotaExhausted);
    await h.acc.close();
  });

  it('ends the sessions of a user removed from the store by another process instead of leaving them unmetered', async () => {
    const dir = tempDir();
    const h = await harness(dir);
    await h.store.upsertUser({ id: 'ivy', dailyMinutes: 1, maxSessions: 3 });
    await h.store.upsertUser({ id: 'jon', dailyMinutes: 1 });
    const a = h.open('ivy', 'a');
    const b = h.open('ivy', 'b');
    const c = h.open('jon', 'c');
    h.clock.t += 1_000;
    await h.acc.flush();
    expect([a.terminated, b.terminated, c.terminated]).toEqual([[], [], []]);
    const cli = await SqliteStore.open(dir); // as `npm run users -- remove ivy` does
    await cli.removeUser('ivy');
    await cli.close();
    a.hooks.onClientFrame('input_audio_buffer.append', append(90)); // over her old quota: nothing may go unenforced
    await h.acc.flush();
    for (const s of [a, b]) expect(s.terminated).toEqual([{ code: CloseCode.Revoked, errorCode: 'user_disabled', message: expect.stringMatching(/removed by the operator/) }]);
    expect(c.terminated).toEqual([]);
    await h.acc.close();
  });

  it('terminates every live session of a user who runs out, and only theirs', async () => {
    const h = await harness(tempDir());
    await h.store.upsertUser({ id: 'gus', dailyMinutes: 1, maxSessions: 3 });
    await h.store.upsertUser({ id: 'hal', dailyMinutes: 1 });
    const a = h.open('gus', 'a');
    const b = h.open('gus', 'b');
    const c = h.open('hal', 'c');
    a.hooks.onClientFrame('input_audio_buffer.append', append(40));
    b.hooks.onClientFrame('input_audio_buffer.append', append(40));
    c.hooks.onClientFrame('input_audio_buffer.append', append(40));
    h.clock.t += 1_000;
    await h.acc.flush();
    expect([a.terminated.length, b.terminated.length, c.terminated.length]).toEqual([1, 1, 0]);
    await h.acc.close();
  });

  it('judges many users in one tick, each on their own sessions and queued records only', async () => {
    const h = await harness(tempDir());
    const users = Array.from({ length: 12 }, (_, i) => `u${i}`);
    for (const id of users) await h.store.upsertUser({ id, dailyMinutes: 1, maxSessions: 2 });
    // Even users speak 35 s in each of two sessions (70 s: over the minute), odd users 20 s in each (40 s).
    const sessions = users.flatMap((id, i) =>
      ['a', 'b'].map((s) => {
        const opened = h.open(id, `${id}-${s}`);
        opened.hooks.onClientFrame('input_audio_buffer.append', append(i % 2 === 0 ? 35 : 20));
        return { over: i % 2 === 0, ...opened };
      }),
    );
    h.clock.t += 1_000;
    await h.acc.flush();
    expect(sessions.map((s) => s.terminated.length)).toEqual(sessions.map((s) => (s.over ? 1 : 0)));
    await h.acc.close();
  });

  it('adds per-user audio counters to the metrics only when per-user metrics are enabled', async () => {
    for (const perUser of [true, false]) {
      const h = await harness(tempDir());
      const metrics = createMetrics({ perUser });
      h.acc.attach({ metrics });
      const s = h.open('ivy', 's1');
      s.hooks.onClientFrame('input_audio_buffer.append', append(2));
      s.hooks.onServerFrame('response.output_audio.delta', outDelta(1));
      h.clock.t += 1_000;
      await h.acc.flush();
      const text = await metrics.render();
      if (perUser) {
        expect(text).toContain('earshot_user_audio_seconds_total{user="ivy",direction="input"} 2');
        expect(text).toContain('earshot_user_audio_seconds_total{user="ivy",direction="output"} 1');
      } else {
        expect(text).not.toContain('user="ivy"');
      }
      await h.acc.close();
    }
  });

  it('makes hooks created after close inert instead of throwing into a session', async () => {
    const h = await harness(tempDir());
    await h.acc.close();
    const s = h.open('jo', 's1');
    s.hooks.onClientFrame('input_audio_buffer.append', append(1));
    s.hooks.onEnd();
    expect((await h.acc.totals('jo')).today.inputAudioBytes).toBe(0);
  });
});

describe('accounting when the store fails', () => {
  it('keeps a batch the database refused (locked by another process) and writes it once the lock is free; live sessions go on; new sessions of quota users are refused (fail closed)', async () => {
    const dir = tempDir();
    const h = await harness(dir, undefined, { busyTimeoutMs: 20 });
    await h.store.upsertUser({ id: 'kim', dailyMinutes: 10 });
    await h.store.upsertUser({ id: 'free' });
    const s = h.open('kim', 'k1');
    s.hooks.onClientFrame('input_audio_buffer.append', append(3));
    h.clock.t += 1_000;
    // Another process holds the write lock past busy_timeout (as a stuck tool would).
    const holder = new Database(sqlitePath(dir));
    holder.exec('BEGIN IMMEDIATE');
    await expect(h.acc.flush()).rejects.toMatchObject({ reason: 'unavailable' });
    expect(h.acc.pendingRecords).toBe(1);
    expect(s.terminated).toEqual([]);
    // Reads still work under a writer's lock in WAL; an unreadable store is what fails closed (below).
    holder.exec('ROLLBACK');
    holder.close();
    s.hooks.onClientFrame('input_audio_buffer.append', append(2));
    h.clock.t += 1_000;
    await h.acc.flush();
    expect(h.acc.pendingRecords).toBe(0);
    const stored = (await h.store.quotaTotals(['kim'], h.clock.t)).get('kim')!;
    expect(stored.day).toMatchObject({ sessions: 1, inputAudioBytes: 5 * PCM16_BYTES_PER_SECOND });
    await h.acc.close();
  });

  it('refuses a quota check it cannot make (store unreadable) by throwing a StoreError, but answers for a user without quotas', async () => {
    const dir = tempDir();
    const h = await harness(dir);
    const kim = await h.store.upsertUser({ id: 'kim', dailyMinutes: 10 });
    const free = await h.store.upsertUser({ id: 'free' });
    await h.store.close(); // the database is gone from under the relay
    await expect(h.acc.quotaExceeded('kim', kim)).rejects.toBeInstanceOf(StoreError);
    expect(await h.acc.quotaExceeded('free', free)).toBe(false);
    await h.acc.close();
  });
});

describe("accounting's timer tick (issue 17)", () => {
  it('takes live sessions TAKE_SLICE per turn of the event loop, and still writes the tick as one batch', async () => {
    const store = await SqliteStore.open(tempDir());
    const batches: number[] = [];
    const appendUsage = store.appendUsage.bind(store);
    store.appendUsage = (records) => {
      batches.push(records.length);
      return appendUsage(records);
    };
    const acc = await createAccounting({ store, log: silent, flushIntervalMs: 40 });
    const sessions = TAKE_SLICE * 2 + 10;
    const control = { terminate() {} };
    for (let i = 0; i < sessions; i++) acc.hooksFactory({ sessionId: `s${i}`, userId: 'alice', tokenId: 't', startedAt: Date.now() }, control).onClientFrame('input_audio_buffer.append', append(0.02));
    // Records queued, as seen between turns of the loop while the tick runs: slices show as steps of TAKE_SLICE.
    const seen = new Set<number>();
    const until = Date.now() + 5_000;
    while (batches.length === 0 && Date.now() < until) {
      seen.add(acc.pendingRecords);
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    await acc.close();
    await store.close();
    expect(batches[0]).toBe(sessions);
    expect([...seen].filter((n) => n > 0 && n < sessions).sort((a, b) => a - b)).toEqual([TAKE_SLICE, TAKE_SLICE * 2]);
  });
});
