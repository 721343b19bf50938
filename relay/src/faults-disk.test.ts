// Faults that involve the relay process and its disk: a graceful restart with clients connected (they get 1001,
// reconnect to the new process, and not a byte of metered audio is lost), and a data directory whose disk fills
// up while the relay runs (it says so in its log, keeps serving, and writes the queued usage once space is back,
// with no damaged record). The full disk is a real one: a 1 MiB tmpfs mounted for this test (root in the CI
// container may mount; chmod would not stop root, and a path under a file only tests the refusal at startup,
// which faults.test.ts already covers).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CloseCode } from '../../protocol/close-codes.ts';
import { mintTokens } from './testing/mint-tokens.ts';
import { bearer, realtimeUrl, usageReport } from './testing/operator-cli.ts';
import { RealtimeTestClient } from './testing/realtime-client.ts';
import { spawnRelayProcess, tempDataDir, type RelayProcess } from './testing/start-relay.ts';
import { SqliteStore, sqlitePath } from './store/sqlite-store.ts';

const FRAME_BYTES = 960; // 20 ms of pcm16 at 24 kHz
const appendEvent = JSON.stringify({ type: 'input_audio_buffer.append', audio: Buffer.alloc(FRAME_BYTES, 1).toString('base64') });
const seconds = (frames: number) => (frames * FRAME_BYTES) / 48_000;

const children: RelayProcess[] = [];
const cleanups: (() => void)[] = [];
afterAll(async () => {
  for (const c of children) await c.stop('SIGKILL');
  for (const f of cleanups.reverse()) f();
});



/** Sends `frames` appends, one per 20 ms (a phone's pace), then waits until the relay has read them all. */
async function stream(c: RealtimeTestClient, frames: number): Promise<void> {
  for (let i = 0; i < frames; i++) {
    c.send(appendEvent);
    await new Promise((r) => setTimeout(r, 20));
  }
  // An event after the appends, answered by the provider, proves the relay forwarded (and metered) every one.
  c.send({ type: 'input_audio_buffer.clear' });
  await c.waitFor('input_audio_buffer.cleared', { where: () => c.of('input_audio_buffer.cleared').length > 0, timeoutMs: 10_000 });
}

async function waitForLine(p: RelayProcess, pattern: RegExp, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const line = p.lines.find((l) => pattern.test(l));
    if (line) return line;
    if (Date.now() > deadline) throw new Error(`no log line matching ${pattern} within ${timeoutMs} ms; got:\n${p.lines.join('\n')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('process and disk faults', () => {
  it('restarted with clients connected: they get 1001, reconnect to the new process, and no usage is lost', { timeout: 60_000 }, async () => {
    const dataDir = tempDataDir('earshot-restart-');
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const users = ['ada', 'bo'];
    const tokens = await mintTokens(dataDir, users);
    const env = { EARSHOT_DATA_DIR: dataDir, STATIC_DIR: join(dataDir, 'no-static') };

    const first = await spawnRelayProcess(env);
    children.push(first);
    const before = await Promise.all(users.map((u) => RealtimeTestClient.connect(realtimeUrl(first), bearer(tokens[u]!))));
    await Promise.all(before.map((c) => c.waitFor('session.updated')));
    await Promise.all(before.map((c) => stream(c, 50)));
    // The operator restarts the service (systemd sends SIGTERM) while both are connected.
    expect(await first.stop('SIGTERM')).toBe(0);
    for (const c of before) expect((await c.closed).code).toBe(CloseCode.GoingAway);

    const second = await spawnRelayProcess(env);
    children.push(second);
    const after = await Promise.all(users.map((u) => RealtimeTestClient.connect(realtimeUrl(second), bearer(tokens[u]!))));
    await Promise.all(after.map((c) => c.waitFor('session.updated')));
    await Promise.all(after.map((c) => stream(c, 25)));
    await Promise.all(after.map((c) => c.close()));
    expect(await second.stop('SIGTERM')).toBe(0);

    const report = await usageReport(dataDir);
    console.log(`restart: ${JSON.stringify(report.users.map((u) => ({ user: u.user, sessions: u.sessions, inputAudioSeconds: u.inputAudioSeconds })))}`);
    for (const user of users) {
      const row = report.users.find((u) => u.user === user);
      expect(row?.sessions).toBe(2);
      expect(row?.inputAudioSeconds).toBeCloseTo(seconds(75), 3);
    }
  });

  it('keeps serving when its disk fills up, says so, and writes the queued usage intact once space is back', { timeout: 60_000 }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'earshot-full-'));
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=0700', 'tmpfs', dataDir], { stdio: 'pipe' });
    } catch (err) {
      throw new Error(`this test needs to mount a 1 MiB tmpfs (root with CAP_SYS_ADMIN, as in the CI container): ${(err as Error).message}`);
    }
    cleanups.push(() => {
      execFileSync('umount', ['-l', dataDir]);
      rmSync(dataDir, { recursive: true, force: true });
    });
    const tokens = await mintTokens(dataDir, ['cy', 'di']);
    const relay = await spawnRelayProcess({ EARSHOT_DATA_DIR: dataDir, STATIC_DIR: join(dataDir, 'no-static') });
    children.push(relay);

    // Fill the disk to the last byte.
    const filler = join(dataDir, 'filler');
    writeFileSync(filler, '');
    const chunk = Buffer.alloc(4096, 0x78);
    let filled = 0;
    for (let i = 0; i < 1024; i++) {
      try {
        writeFileSync(filler, chunk, { flag: 'a' });
        filled += chunk.length;
      } catch {
        break;
      }
    }
    for (let i = 0; i < 4096; i++) {
      try {
        writeFileSync(filler, chunk.subarray(0, 1), { flag: 'a' });
      } catch {
        break;
      }
    }
    expect(() => writeFileSync(filler, 'x', { flag: 'a' })).toThrow(/ENOSPC/);

    const cy = await RealtimeTestClient.connect(realtimeUrl(relay), bearer(tokens.cy!));
    await cy.waitFor('session.updated');
    await stream(cy, 50);
    const error = await waitForLine(relay, /usage: cannot write to the store/, 10_000);
    expect(error).toMatch(/SQLITE_FULL/);
    // Still serving: health, a new session for another user, and a spoken turn.
    expect((await fetch(`${relay.url}/healthz`)).status).toBe(200);
    const di = await RealtimeTestClient.connect(realtimeUrl(relay), bearer(tokens.di!));
    await di.waitFor('session.updated');
    await stream(di, 25);
    await cy.close();
    await di.close();

    // Space comes back: the queued records are written on the next tick, and the shutdown flush succeeds.
    unlinkSync(filler);
    expect(await relay.stop('SIGTERM')).toBe(0);
    expect(relay.lines.some((l) => /final write failed/.test(l))).toBe(false);
    const report = await usageReport(dataDir);
    console.log(`disk full: filled ${filled} B; ${relay.lines.filter((l) => /cannot write to the store/.test(l)).length} failed-write streaks logged; usage after: ${JSON.stringify(report.users.map((u) => ({ user: u.user, inputAudioSeconds: u.inputAudioSeconds })))}`);
    expect(report.users.find((u) => u.user === 'cy')?.inputAudioSeconds).toBeCloseTo(seconds(50), 3);
    expect(report.users.find((u) => u.user === 'di')?.inputAudioSeconds).toBeCloseTo(seconds(25), 3);
    // The database was never left half-written.
    const db = await SqliteStore.openFile(sqlitePath(dataDir), { readonly: true });
    expect(db.integrityCheck()).toBe('ok');
    expect((await db.listUsers()).map((u) => u.id)).toEqual(['cy', 'di']);
    await db.close();
  });
});
