// Crash safety end to end: a relay child process (relay/src/main.ts, simulator backend) meters several
// sessions streaming audio, is SIGKILLed mid-stream, restarts on the same data dir, and `npm run usage --json`
// must match what the clients sent within one second of audio per session (the bound: one 500 ms usage batch
// window, plus the batch in flight, plus the frames in the socket at the kill) — and the restarted relay must
// enforce quotas from the rebuilt totals.
import { afterAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteStore } from '../store/sqlite-store.ts';
import { mintTokens } from '../testing/mint-tokens.ts';
import { bearer, realtimeUrl, usageReport } from '../testing/operator-cli.ts';
import { RealtimeTestClient } from '../testing/realtime-client.ts';
import { fetchMetrics, spawnRelayProcess, tempDataDir, type RelayProcess } from '../testing/start-relay.ts';

const FRAME_BYTES = 960; // 20 ms of pcm16 at 24 kHz
const appendEvent = JSON.stringify({ type: 'input_audio_buffer.append', audio: Buffer.alloc(FRAME_BYTES, 1).toString('base64') });
const USERS = ['ann', 'ben', 'cat'];

const dataDir = tempDataDir('earshot-crash-');
const children: RelayProcess[] = [];
afterAll(async () => {
  for (const c of children) await c.stop('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});



describe('usage accounting across a kill -9', () => {
  it('keeps every session within one second of the audio its client sent, and the restarted relay enforces quotas from it', { timeout: 120_000 }, async () => {
    const tokens = await mintTokens(dataDir, USERS);
    const relay = await spawnRelayProcess({ EARSHOT_DATA_DIR: dataDir, STATIC_DIR: join(dataDir, 'no-static') });
    children.push(relay);

    const clients = await Promise.all(USERS.map((u) => RealtimeTestClient.connect(realtimeUrl(relay), bearer(tokens[u]!))));
    await Promise.all(clients.map((c) => c.waitFor('session.updated')));
    // Real-time pace, one 20 ms append per 20 ms per session, as a phone does.
    const sent = USERS.map(() => 0);
    const timers = clients.map((c, i) =>
      setInterval(() => {
        if (c.socket.readyState !== c.socket.OPEN) return;
        c.send(appendEvent);
        sent[i]! += FRAME_BYTES;
      }, 20),
    );
    // An arbitrary moment mid-stream, once every client has sent over 2 s of audio (counted, not timed: a loaded
    // machine runs fewer 20 ms ticks than the wall clock promises).
    const target = (2.1 + Math.random() * 0.5) * 48_000;
    while (sent.some((n) => n <= target)) await new Promise((r) => setTimeout(r, 20));
    const sentAtKill = [...sent];
    relay.child.kill('SIGKILL');
    timers.forEach(clearInterval);
    await relay.exited;
    await Promise.all(clients.map((c) => c.closed));

    const restarted = await spawnRelayProcess({ EARSHOT_DATA_DIR: dataDir, STATIC_DIR: join(dataDir, 'no-static'), PER_USER_METRICS: '1' });
    children.push(restarted);
    const report = await usageReport(dataDir);
    const seconds = (bytes: number) => bytes / 48_000;
    for (const [i, user] of USERS.entries()) {
      const row = report.users.find((u) => u.user === user);
      expect(row, `usage row for ${user}`).toBeDefined();
      const sentSeconds = seconds(sentAtKill[i]!);
      expect(sentSeconds).toBeGreaterThan(2);
      expect(row!.sessions).toBe(1);
      expect(row!.inputAudioSeconds).toBeLessThanOrEqual(sentSeconds);
      expect(sentSeconds - row!.inputAudioSeconds, `${user} lost more than 1 s`).toBeLessThanOrEqual(1);
      expect(row!.connectedSeconds).toBeGreaterThan(row!.inputAudioSeconds - 1);
    }

    // The restarted relay rebuilt the totals: a daily quota just under ann's recorded use refuses her at once.
    const ann = report.users.find((u) => u.user === 'ann')!;
    const store = await SqliteStore.open(dataDir);
    await store.upsertUser({ id: 'ann', dailyMinutes: Math.floor(ann.spokenMinutes * 0.9 * 1000) / 1000 });
    await store.close();
    const refusal = await RealtimeTestClient.connect(realtimeUrl(restarted), bearer(tokens.ann!)).then(
      async (c) => {
        await c.close();
        return null;
      },
      (err: { status: number; body: string }) => ({ status: err.status, code: (JSON.parse(err.body) as { error: { code: string } }).error.code }),
    );
    expect(refusal).toEqual({ status: 429, code: 'quota_exhausted' });
    const ben = await RealtimeTestClient.connect(realtimeUrl(restarted), bearer(tokens.ben!));
    await ben.waitFor('session.created');
    for (let i = 0; i < 5; i++) ben.send(appendEvent);
    // main.ts hands the relay's metrics to accounting: with PER_USER_METRICS=1, /metrics shows ben's audio.
    const deadline = Date.now() + 5_000;
    let metrics = '';
    while (!/earshot_user_audio_seconds_total\{user="ben",direction="input"\} 0\.1\b/.test(metrics) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      metrics = await (await fetchMetrics(restarted.url)).text();
    }
    expect(metrics).toMatch(/earshot_user_audio_seconds_total\{user="ben",direction="input"\} 0\.1\b/);
    await ben.close();

    // A clean stop drains and flushes: exit 0, and ben's second session is on record.
    expect(await restarted.stop('SIGTERM')).toBe(0);
    const after = await usageReport(dataDir, '--user', 'ben');
    expect(after.users.map((u) => [u.user, u.sessions])).toEqual([['ben', 2]]);
  });
});
