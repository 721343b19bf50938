// A fleet for real: two relay processes sharing one PostgreSQL server, behind nginx (deploy/nginx-fleet.conf),
// driven by real WebSocket clients and the operator CLI. What one relay cannot show: limits and revocations
// hold across relays, and a relay killed with -9 gives its seats back.
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloseCode } from '../../../protocol/close-codes.ts';
import { startFleet, type Fleet } from '../testing/fleet.ts';
import { startPostgres, type PostgresServer } from '../testing/postgres-server.ts';
import { RealtimeTestClient } from '../testing/realtime-client.ts';
import { until } from '../testing/until.ts';
import { LEASE_TTL_MS } from './session-leases.ts';

let pg: PostgresServer;
let fleet: Fleet;
beforeAll(async () => {
  pg = await startPostgres();
  // The change feed's fallback poll at a minute: a revocation that arrives within the test's seconds came by NOTIFY.
  fleet = await startFleet({ databaseUrl: await pg.createDatabase(), relays: 2, env: { EARSHOT_FEED_POLL_MS: '60000' } });
}, 180_000);
afterAll(async () => {
  await fleet?.stop();
  await pg?.stop();
});

const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });
const direct = (port: number) => `ws://127.0.0.1:${port}/v1/realtime?model=gpt-realtime`;

/** One upgrade attempt: 'open', or the HTTP status it was refused with. */
function attempt(url: string, token: string): Promise<{ outcome: 'open' | number; socket?: WebSocket }> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url, bearer(token));
    socket.once('open', () => resolve({ outcome: 'open', socket }));
    socket.once('unexpected-response', (_req, res) => {
      resolve({ outcome: res.statusCode ?? 0 });
      socket.terminate();
    });
    socket.once('error', () => resolve({ outcome: -1 }));
  });
}

/** An upgrade that must be refused: its HTTP status and the relay's error code. */
function refusal(url: string, token: string): Promise<{ status: number; code: string }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, bearer(token));
    socket.once('open', () => {
      socket.terminate();
      reject(new Error(`${url} admitted a session it should have refused`));
    });
    socket.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, code: (JSON.parse(body) as { error: { code: string } }).error.code }));
    });
    socket.once('error', reject);
  });
}

/** A live session on one relay, its `session.created` seen (so its seat is taken before the next one's). */
async function liveOn(port: number, token: string): Promise<RealtimeTestClient> {
  const c = await RealtimeTestClient.connect(direct(port), bearer(token));
  await c.waitFor('session.created');
  return c;
}

const FRAME_BYTES = 960; // 20 ms of pcm16 at 24 kHz
const appendEvent = JSON.stringify({ type: 'input_audio_buffer.append', audio: Buffer.alloc(FRAME_BYTES, 1).toString('base64') });
/** pcm16 mono 24 kHz. */
const BYTES_PER_SECOND = 48_000;

describe('two relays sharing PostgreSQL behind nginx', () => {
  it('a max-1 user gets exactly one session out of 50 racing upgrades spread over both relays; the rest get 429', { timeout: 120_000 }, async () => {
    expect((await fleet.cli(['users', 'add', 'solo', '--max-sessions', '1'])).code).toBe(0);
    const token = await fleet.mint('solo');
    const urls = [fleet.wsUrl, direct(fleet.relays[0]!.port), direct(fleet.relays[1]!.port)];
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => attempt(urls[i % urls.length]!, token)));
    const opened = results.filter((r) => r.outcome === 'open');
    expect(opened).toHaveLength(1);
    expect(results.filter((r) => r.outcome === 429)).toHaveLength(49);
    // And held: one more through either relay is still refused while it lives.
    for (const port of fleet.relays.map((r) => r.port)) expect((await attempt(direct(port), token)).outcome).toBe(429);
    opened[0]!.socket!.close();
    await until('the seat to come free', async () => {
      const r = await attempt(fleet.wsUrl, token);
      r.socket?.close();
      return r.outcome === 'open';
    }, 30_000, 200);
  });

  it('a revocation by the CLI closes the session on the other relay at once, by NOTIFY (the fallback poll is a minute)', { timeout: 120_000 }, async () => {
    const token = await fleet.mint('revokee');
    const onB = await RealtimeTestClient.connect(direct(fleet.relays[1]!.port), bearer(token));
    await onB.waitFor('session.created');
    const revokedAt = Date.now();
    expect((await fleet.cli(['token', 'revoke', 'revokee'])).code).toBe(0);
    const closed = await onB.closed;
    expect(closed.code).toBe(CloseCode.Revoked);
    // Well inside the minute the poll would take: this can only have been the NOTIFY path.
    expect(Date.now() - revokedAt).toBeLessThan(45_000);
  });

  it('each relay records how far it has read the change feed (retention prunes only rows every live relay has read)', { timeout: 120_000 }, async () => {
    expect((await fleet.cli(['users', 'add', 'reader-check'])).code).toBe(0);
    const last = Number(await pg.psql(fleet.databaseUrl, 'SELECT max(id) FROM changes'));
    // Both relays reported at start; a relay's position is what its directory has applied, never past the feed's end.
    const positions = (await pg.psql(fleet.databaseUrl, 'SELECT change_id FROM feed_readers ORDER BY relay_id')).split('\n').map(Number);
    expect(positions).toHaveLength(2);
    for (const p of positions) expect(p).toBeLessThanOrEqual(last);
  });

  it('a quota crossed with sessions on both relays cuts BOTH (4002), and a new session is refused 429 quota_exhausted on either relay', { timeout: 180_000 }, async () => {
    expect((await fleet.cli(['users', 'add', 'shared', '--max-sessions', '2', '--daily-tokens', '200'])).code).toBe(0);
    const token = await fleet.mint('shared');
    const onA = await liveOn(fleet.relays[0]!.port, token);
    const onB = await liveOn(fleet.relays[1]!.port, token);
    // Only the session on A spends tokens; B's is idle, so only the shared totals in PostgreSQL can cut it.
    onA.send({ type: 'session.update', session: { type: 'realtime', output_modalities: ['text'], instructions: 'Be brief. '.repeat(20) } });
    await onA.waitFor('session.updated');
    for (let turn = 0; turn < 60 && onA.socket.readyState === onA.socket.OPEN; turn++) {
      const from = onA.types().length;
      onA.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: `question number ${turn} with a few words` }] } });
      onA.send({ type: 'response.create' });
      if (!(await onA.waitFor('response.done', { from }).catch(() => null))) break;
    }
    expect((await onA.closed).code).toBe(CloseCode.QuotaExhausted);
    expect((await onB.closed).code).toBe(CloseCode.QuotaExhausted);
    expect(onB.of('error').at(-1)?.error.code).toBe('quota_exhausted');
    for (const relay of fleet.relays) expect(await refusal(direct(relay.port), token)).toEqual({ status: 429, code: 'quota_exhausted' });
    expect(Number(await pg.psql(fleet.databaseUrl, "SELECT text_input_tokens + text_output_tokens FROM usage_daily WHERE user_id = 'shared'"))).toBeGreaterThanOrEqual(200);
  });

  it('max-sessions lowered by the CLI closes the newest seats across the fleet, not only where one relay has too many', { timeout: 180_000 }, async () => {
    expect((await fleet.cli(['users', 'add', 'family', '--max-sessions', '3'])).code).toBe(0);
    const token = await fleet.mint('family');
    const [a, b] = [fleet.relays[0]!.port, fleet.relays[1]!.port];
    const oldest = await liveOn(a, token);
    const second = await liveOn(b, token); // alone on B: B's own count (1) never exceeds the new limit
    const newest = await liveOn(a, token);
    expect((await fleet.cli(['users', 'set', 'family', '--max-sessions', '1'])).code).toBe(0);
    expect((await second.closed).code).toBe(CloseCode.TooManySessions);
    expect((await newest.closed).code).toBe(CloseCode.TooManySessions);
    expect(second.of('error').at(-1)?.error.code).toBe('too_many_sessions');
    // The oldest seat is kept, and still works.
    oldest.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'still on' }] } });
    oldest.send({ type: 'response.create' });
    expect((await oldest.waitFor('response.output_audio_transcript.done')).transcript).toBe('Echo: you wrote "still on"');
    expect(oldest.socket.readyState).toBe(WebSocket.OPEN);
    await oldest.close();
  });

  it('eight operator CLIs at once on the fleet\'s database (`users add` and `token create` interleaved): all succeed, every user and token is kept, with distinct ids', { timeout: 600_000 }, async () => {
    const runs = await Promise.all(
      Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? fleet.cli(['users', 'add', `crew${i}`, '--daily-minutes', '5']) : fleet.cli(['token', 'create', '--user', `crew${i}`, '--json']))),
    );
    expect(runs.map((r) => r.code)).toEqual(runs.map(() => 0));
    const issued = runs.filter((_, i) => i % 2 === 1).map((r) => JSON.parse(r.stdout) as { tokenId: string; user: string });
    expect(new Set(issued.map((t) => t.tokenId)).size).toBe(4);
    // Judged with psql, not the store under test: every added user, and every printed token stored once for its own user.
    expect(await pg.psql(fleet.databaseUrl, "SELECT string_agg(id || ':' || COALESCE(daily_minutes::text, '-'), ',' ORDER BY id) FROM users WHERE id LIKE 'crew%'")).toBe(
      'crew0:5,crew1:-,crew2:5,crew3:-,crew4:5,crew5:-,crew6:5,crew7:-',
    );
    expect(await pg.psql(fleet.databaseUrl, "SELECT string_agg(id || '=' || user_id, ',' ORDER BY id) FROM tokens WHERE user_id LIKE 'crew%'")).toBe(
      issued
        .map((t) => `${t.tokenId}=${t.user}`)
        .sort()
        .join(','),
    );
  });

  it('kill -9 of a relay mid-conversation: PostgreSQL holds exactly its committed batches (at most one batch window and the batch in flight short of what was sent), and its seat frees within the lease ttl', { timeout: 180_000 }, async () => {
    expect((await fleet.cli(['users', 'add', 'crash', '--max-sessions', '1'])).code).toBe(0);
    const token = await fleet.mint('crash');
    const victim = fleet.relays[0]!;
    const survivor = fleet.relays[1]!;
    const talking = await RealtimeTestClient.connect(direct(victim.port), bearer(token));
    await talking.waitFor('session.updated');
    expect((await attempt(direct(survivor.port), token)).outcome).toBe(429);
    // Real-time pace, one 20 ms append per 20 ms, as a phone does.
    let sent = 0;
    const timer = setInterval(() => {
      if (talking.socket.readyState !== talking.socket.OPEN) return;
      talking.send(appendEvent);
      sent += FRAME_BYTES;
    }, 20);
    await until('a few seconds of audio to be committed', async () => Number(await pg.psql(fleet.databaseUrl, "SELECT COALESCE(sum(input_audio_bytes), 0) FROM usage_records WHERE user_id = 'crash'")) > 2 * BYTES_PER_SECOND, 60_000, 100);
    const killedAt = Date.now();
    victim.child.kill('SIGKILL');
    const sentAtKill = sent;
    clearInterval(timer);
    await victim.exited;
    await talking.closed;

    const stored = async () => ({
      records: Number(await pg.psql(fleet.databaseUrl, "SELECT COALESCE(sum(input_audio_bytes), 0) FROM usage_records WHERE user_id = 'crash'")),
      daily: Number(await pg.psql(fleet.databaseUrl, "SELECT COALESCE(sum(input_audio_bytes), 0) FROM usage_daily WHERE user_id = 'crash'")),
    });
    const atKill = await stored();
    // Whole batches only: the per-day totals are exactly the records' sum (each batch is one transaction).
    expect(atKill.daily).toBe(atKill.records);
    // Never more than was sent; short of it by at most the batch window (500 ms) + the batch in flight + frames in the socket.
    expect(atKill.records).toBeLessThanOrEqual(sentAtKill);
    expect(sentAtKill - atKill.records).toBeLessThanOrEqual(BYTES_PER_SECOND);
    expect(await pg.psql(fleet.databaseUrl, "SELECT count(*) FROM usage_records WHERE user_id = 'crash' AND last")).toBe('0');
    // The dead relay's lease stops counting by its last renewal + ttl, at the latest killedAt + ttl.
    expect(Number(await pg.psql(fleet.databaseUrl, "SELECT max(expires_at_ms) FROM leases WHERE user_id = 'crash'"))).toBeLessThanOrEqual(killedAt + LEASE_TTL_MS);
    await until('the dead relay\'s lease to expire', async () => {
      const r = await attempt(direct(survivor.port), token);
      r.socket?.close();
      return r.outcome === 'open';
    }, 60_000, 500);
    // Nothing the dead relay had counted arrives later, and the survivor added only its own short sessions' (no audio).
    expect(await stored()).toEqual(atKill);
  });

  // Last: it stops the database under the fleet.
  it('PostgreSQL stopped mid-session: the live session goes on, a new one is refused 503 store_unavailable, and admitted again once it is back', { timeout: 120_000 }, async () => {
    const token = await fleet.mint('steady');
    const relay = fleet.relays[1]!;
    const live = await RealtimeTestClient.connect(direct(relay.port), bearer(token));
    await live.waitFor('session.created');
    await pg.halt();
    const refused = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const socket = new WebSocket(direct(relay.port), bearer(token));
      socket.once('open', () => reject(new Error('a new session was admitted with the database down')));
      socket.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
    });
    expect(refused.status).toBe(503);
    expect((JSON.parse(refused.body) as { error: { code: string } }).error.code).toBe('store_unavailable');
    live.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'still here' }] } });
    live.send({ type: 'response.create' });
    expect((await live.waitFor('response.output_audio_transcript.done')).transcript).toBe('Echo: you wrote "still here"');
    await pg.resume();
    await until('a new session to be admitted again', async () => {
      const r = await attempt(direct(relay.port), token);
      r.socket?.close();
      return r.outcome === 'open';
    }, 60_000, 500);
    await live.close();
    expect(relay.child.exitCode).toBeNull();
  });
});
