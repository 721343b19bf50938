// The relay as a process and over TLS: the official OpenAI SDK client, graceful SIGTERM, restart durability.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { OpenAIRealtimeWS } from 'openai/realtime/ws';
import { CloseCode } from '../../protocol/close-codes.ts';
import { RealtimeTestClient } from './testing/realtime-client.ts';
import { REPO_ROOT, spawnRelayProcess, startTestRelay, tempDataDir } from './testing/start-relay.ts';

let tls: { cert: string; key: string };

beforeAll(() => {
  const dir = tempDataDir('earshot-tls-');
  tls = { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') };
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', tls.key, '-out', tls.cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
});

function tokenCli(dataDir: string, ...args: string[]): string {
  return execFileSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'relay/src/cli/token.ts'), ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, EARSHOT_DATA_DIR: dataDir },
    encoding: 'utf8',
  });
}

describe('relay over TLS', () => {
  const previous = process.env.NODE_TLS_REJECT_UNAUTHORIZED;
  afterAll(() => {
    if (previous === undefined) delete process.env.NODE_TLS_REJECT_UNAUTHORIZED;
    else process.env.NODE_TLS_REJECT_UNAUTHORIZED = previous;
  });

  it('works unchanged with the official openai SDK OpenAIRealtimeWS (baseURL = relay, apiKey = Earshot token)', async () => {
    const relay = await startTestRelay({ tlsCert: tls.cert, tlsKey: tls.key });
    expect(relay.url).toMatch(/^https:/);
    // The certificate is self-signed for this test only.
    process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
    const client = new OpenAI({ apiKey: await relay.mint('sdk-user'), baseURL: `${relay.url}/v1` });
    const rt = new OpenAIRealtimeWS({ model: 'gpt-realtime' }, client);
    const transcript = await new Promise<string>((resolve, reject) => {
      rt.on('error', (err) => reject(err));
      rt.on('session.created', () => {
        rt.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hello from the sdk' }] } });
        rt.send({ type: 'response.create' });
      });
      rt.on('response.output_audio_transcript.done', (e) => resolve(e.transcript));
    });
    expect(transcript).toBe('Echo: you wrote "hello from the sdk"');
    rt.close();
    await relay.stop();
  });
});

describe('relay process', () => {
  it('drains on SIGTERM: live clients get 1001 and the process exits 0', async () => {
    const dataDir = tempDataDir();
    const token = (JSON.parse(tokenCli(dataDir, 'create', '--user', 'zoe', '--json')) as { token: string }).token;
    const proc = await spawnRelayProcess({ EARSHOT_DATA_DIR: dataDir, STATIC_DIR: join(dataDir, 'no-build') });
    const ws = `ws://127.0.0.1:${proc.port}/v1/realtime`;
    const c = await RealtimeTestClient.connect(ws, { headers: { authorization: `Bearer ${token}` } });
    await c.waitFor('session.updated');
    expect((await fetch(`${proc.url}/healthz`)).status).toBe(200);
    // The startup log names the backend and that uWS runs its native binding.
    const listening = JSON.parse(proc.lines.find((l) => l.includes('"msg":"listening"'))!) as { backend: string; uws: string };
    expect(listening.backend).toBe('simulator');
    expect(listening.uws).toMatch(/^native \(uws_[a-z0-9]+_[a-z0-9]+_\d+\.node\)$/);
    expect(proc.lines.some((l) => l.includes('talking to the built-in simulator'))).toBe(true);
    const code = await proc.stop('SIGTERM');
    expect((await c.closed).code).toBe(CloseCode.GoingAway);
    expect(code).toBe(0);
    expect(proc.lines.some((l) => l.includes('"msg":"stopped"'))).toBe(true);
  });

  // Four CLI runs and two relay start-ups, each a TypeScript compile: minutes, not seconds, on a loaded CI machine.
  it('keeps users and revocations across a restart, and refuses a token revoked by the CLI while it was down', { timeout: 240_000 }, async () => {
    const dataDir = tempDataDir();
    const keep = JSON.parse(tokenCli(dataDir, 'create', '--user', 'amy', '--json')) as { token: string };
    const gone = JSON.parse(tokenCli(dataDir, 'create', '--user', 'ben', '--json')) as { token: string; tokenId: string };
    const first = await spawnRelayProcess({ EARSHOT_DATA_DIR: dataDir });
    await first.stop();
    tokenCli(dataDir, 'revoke', gone.tokenId);
    const second = await spawnRelayProcess({ EARSHOT_DATA_DIR: dataDir });
    const ws = `ws://127.0.0.1:${second.port}/v1/realtime`;
    const ok = await RealtimeTestClient.connect(ws, { headers: { authorization: `Bearer ${keep.token}` } });
    await ok.close();
    await expect(RealtimeTestClient.connect(ws, { headers: { authorization: `Bearer ${gone.token}` } })).rejects.toMatchObject({ status: 401 });
    // Revocation by the CLI while the relay runs closes the live session.
    const live = await RealtimeTestClient.connect(ws, { headers: { authorization: `Bearer ${keep.token}` } });
    await live.waitFor('session.updated');
    tokenCli(dataDir, 'revoke', 'amy');
    expect((await live.closed).code).toBe(CloseCode.Revoked);
    await second.stop();
  });

  it('refuses to start with a clear message on an invalid config', async () => {
    await expect(spawnRelayProcess({ EARSHOT_DATA_DIR: tempDataDir(), PORT: 'not-a-port' })).rejects.toThrow(/port/);
  });

  it('refuses to start when uWebSockets.js falls back to its JavaScript shim', async () => {
    await expect(spawnRelayProcess({ EARSHOT_DATA_DIR: tempDataDir(), UWS_USE_FALLBACK: '1' })).rejects.toThrow(/native binding/);
  });
});
