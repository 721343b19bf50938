// An accepted upgrade must become a session that gets its first events. The uWebSockets.js build the relay
// uses closed a WebSocket right after `open` — 1006 on both legs, no close frame, nothing received — when the
// upgrade ran inside `res.cork()` and the socket was reallocated in place (uWebSockets #1929): cork() then ran
// its HTTP "Connection: close" check on the new WebSocket, reading freed heap bytes as the response's state.
// Whether those bytes said "close" depended on the heap's history, so in normal runs it hit a fraction of new
// connections (more on a busy process, e.g. with the simulator and test clients sharing it) and failed CI.
//
// glibc's MALLOC_PERTURB_ fills freed memory with one byte; 0x30 has the close bit (16) set and the pending
// bit (8) clear, so a relay with the bug drops nearly every session at open, every run, and a correct relay
// is untouched. Real relay process (relay/src/main.ts) on loopback, built-in simulator, real `ws` clients.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { mintTokens } from './testing/mint-tokens.ts';
import { RealtimeTestClient } from './testing/realtime-client.ts';
import { realtimeUrl } from './testing/operator-cli.ts';
import { spawnRelayProcess, tempDataDir, type RelayProcess } from './testing/start-relay.ts';

const SEQUENTIAL = 30;
const AT_ONCE = 10;

const dataDir = tempDataDir('earshot-upgrade-open-');
let relay: RelayProcess;
let token: string;
beforeAll(async () => {
  token = (await mintTokens(dataDir, [{ id: 'crowd', maxSessions: 100 }])).crowd!;
  relay = await spawnRelayProcess({ EARSHOT_DATA_DIR: dataDir, STATIC_DIR: join(dataDir, 'none'), MALLOC_PERTURB_: '48' }, { timeoutMs: 60_000 });
}, 90_000);
afterAll(async () => {
  await relay?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

/** 'ok', or how the session failed (with its close code, from the test client's message). */
async function firstEvents(options: Parameters<typeof RealtimeTestClient.connect>[1] = {}): Promise<string> {
  const c = await RealtimeTestClient.connect(realtimeUrl(relay), { headers: { authorization: `Bearer ${token}` }, ...options });
  try {
    // Generous deadline for a loaded machine; a dropped socket fails at once, not by timing out.
    await c.waitFor('session.created', { timeoutMs: 60_000 });
    await c.waitFor('session.updated', { timeoutMs: 60_000 });
    return 'ok';
  } catch (err) {
    return (err as Error).message.slice(0, 160);
  } finally {
    await c.close();
  }
}

describe('an accepted upgrade (freed heap memory poisoned with MALLOC_PERTURB_)', () => {
  it(`gives each of ${SEQUENTIAL} sessions opened one after another its session.created and session.updated`, { timeout: 120_000 }, async () => {
    const outcomes: string[] = [];
    for (let i = 0; i < SEQUENTIAL; i++) outcomes.push(await firstEvents());
    expect(outcomes.filter((o) => o !== 'ok')).toEqual([]);
  });

  it(`does the same for ${AT_ONCE} sessions opened at once, with the browser subprotocols too`, { timeout: 120_000 }, async () => {
    const outcomes = await Promise.all(
      Array.from({ length: AT_ONCE }, (_, i) =>
        i % 2 === 0 ? firstEvents() : firstEvents({ headers: {}, protocols: ['realtime', `openai-insecure-api-key.${token}`] }),
      ),
    );
    expect(outcomes.filter((o) => o !== 'ok')).toEqual([]);
  });
});
