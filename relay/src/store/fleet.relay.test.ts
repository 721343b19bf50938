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

  it('kill -9 of the relay holding a max-1 user\'s session frees the seat within the lease ttl; the other relay then admits them', { timeout: 120_000 }, async () => {
    expect((await fleet.cli(['users', 'add', 'crash', '--max-sessions', '1'])).code).toBe(0);
    const token = await fleet.mint('crash');
    const victim = fleet.relays[0]!;
    const survivor = fleet.relays[1]!;
    const s = await attempt(direct(victim.port), token);
    expect(s.outcome).toBe('open');
    expect((await attempt(direct(survivor.port), token)).outcome).toBe(429);
    await victim.stop('SIGKILL');
    expect(await pg.psql(fleet.databaseUrl, "SELECT count(*) FROM leases WHERE user_id = 'crash'")).toBe('1');
    await until('the dead relay\'s lease to expire', async () => {
      const r = await attempt(direct(survivor.port), token);
      r.socket?.close();
      return r.outcome === 'open';
    }, 60_000, 500);
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
