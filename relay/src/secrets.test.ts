// Secrets never leak: a relay process with a recognisable API key, two users, full sessions each; every frame a
// client receives, every static asset and every log line is scanned for the key and for the other user's token.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { DIST_CLIENT, ensurePwaBuilt } from './testing/build-pwa.ts';
import { RealtimeTestClient, speechPcm16 } from './testing/realtime-client.ts';
import { REPO_ROOT, spawnRelayProcess, tempDataDir } from './testing/start-relay.ts';
import { startSimulatorServer } from './simulator/server.ts';

const API_KEY = 'sk-test-SECRET-0123456789abcdefDoNotLeak';
const STATIC_DIR = DIST_CLIENT;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? files(join(dir, n)) : [join(dir, n)]));
}

// Without a build there is nothing to scan and the static half of this test would pass vacuously.
beforeAll(() => ensurePwaBuilt(), 180_000);

describe('secrets', () => {
  it('never sends the API key or another user\'s token to a client, a log line or a static file', async () => {
    const sim = await startSimulatorServer({ port: 0, apiKey: API_KEY });
    const dataDir = tempDataDir();
    const mint = (user: string) =>
      (JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'relay/src/cli/token.ts'), 'create', '--user', user, '--json'], { cwd: REPO_ROOT, env: { ...process.env, EARSHOT_DATA_DIR: dataDir }, encoding: 'utf8' })) as { token: string }).token;
    const tokens = { alice: mint('alice'), bob: mint('bob') };
    const relay = await spawnRelayProcess({ EARSHOT_DATA_DIR: dataDir, OPENAI_API_KEY: API_KEY, UPSTREAM_URL: sim.url, LOG_LEVEL: 'debug' });
    let stderr = '';
    relay.child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const received: Record<string, string[]> = { alice: [], bob: [] };
    const speech = speechPcm16('secret agent', 0.5);
    for (const user of ['alice', 'bob'] as const) {
      const c = await RealtimeTestClient.connect(`ws://127.0.0.1:${relay.port}/v1/realtime`, { headers: { authorization: `Bearer ${tokens[user]}` } });
      c.socket.on('message', (d) => received[user]!.push(d.toString()));
      c.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hello' }] } });
      c.send({ type: 'response.create' });
      await c.waitFor('response.done');
      c.appendAudio(speech);
      await c.waitFor('response.done', { where: () => c.of('response.done').length >= 2 });
      // A refused attempt with the other user's token shape mangled must not echo it either.
      await c.close();
    }
    const check = await fetch(`${relay.url}/api/session-check`, { headers: { authorization: `Bearer ${tokens.alice}` } });
    const checkBody = await check.text();
    await relay.stop();
    await sim.close();
    const logs = relay.lines.join('\n') + stderr;
    expect(relay.lines.length).toBeGreaterThan(5);
    const staticPaths = files(STATIC_DIR);
    const statics = staticPaths.map((f) => readFileSync(f).toString('latin1'));
    const scanned = { frames: received.alice!.length + received.bob!.length, logLines: relay.lines.length, staticFiles: statics.length };
    console.log(`secrets scan: ${JSON.stringify(scanned)}`);
    // The scan must have covered the real build: the page, the service worker and the app's code.
    const names = staticPaths.map((f) => relative(STATIC_DIR, f));
    expect(statics.length).toBeGreaterThan(5);
    expect(names).toContain('index.html');
    expect(names).toContain('sw.js');
    expect(names.filter((n) => n.startsWith('assets/') && n.endsWith('.js')).length).toBeGreaterThan(0);
    for (const text of [...received.alice!, ...received.bob!, logs, checkBody, ...statics]) expect(text).not.toContain(API_KEY);
    for (const text of received.alice!) expect(text).not.toContain(tokens.bob);
    for (const text of received.bob!) expect(text).not.toContain(tokens.alice);
    expect(logs).not.toContain(tokens.alice);
    expect(logs).not.toContain(tokens.bob);
    expect(checkBody).not.toContain(tokens.alice);
  });
});
