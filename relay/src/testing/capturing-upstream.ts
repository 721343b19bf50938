// A provider stand-in for tests that judge what the relay forwarded: a plain `ws` server (not the relay's uWS, not
// its parsers) that records every frame exactly as it arrived and reads it with JSON.parse, as a provider would.
// Each connection also drives a real simulator session, so clients behind the relay get real answers.
// Point a relay at it with UPSTREAM_URL (child process) or createWsUpstreamFactory({ url }) (in process).
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { SimulatorSession } from '../simulator/engine.ts';
import { mintTokens } from './mint-tokens.ts';
import { spawnRelayProcess, tempDataDir, type RelayProcess } from './start-relay.ts';

export interface CapturedFrame {
  /** Which upstream connection (one per relay session), from 1. */
  connection: number;
  binary: boolean;
  bytes: number;
  /** JSON.parse of the frame's text; `undefined` if it was not JSON. */
  value: unknown;
  /** The raw text when it was not JSON (capped), to show in a failure. */
  unparsed?: string;
}

export interface CapturingUpstream {
  url: string;
  frames: CapturedFrame[];
  connections(): number;
  close(): Promise<void>;
}

export async function startCapturingUpstream(): Promise<CapturingUpstream> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: 64 * 1024 * 1024, perMessageDeflate: false });
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const frames: CapturedFrame[] = [];
  let connections = 0;
  const sockets = new Set<WebSocket>();
  server.on('connection', (ws, req) => {
    const connection = ++connections;
    sockets.add(ws);
    const model = new URL(req.url ?? '/', 'ws://x').searchParams.get('model') ?? 'gpt-realtime';
    const session = new SimulatorSession({ pitchShift: false }, { send: (text) => ws.readyState === ws.OPEN && ws.send(text), close: (code, reason) => ws.close(code, reason) }, { model });
    ws.on('message', (data: Buffer, binary) => {
      const text = data.toString('utf8');
      let value: unknown;
      let unparsed: string | undefined;
      try {
        value = JSON.parse(text);
      } catch {
        unparsed = text.slice(0, 200);
      }
      frames.push({ connection, binary, bytes: data.byteLength, value, ...(unparsed !== undefined ? { unparsed } : {}) });
      try {
        session.receive(text);
      } catch {
        ws.close(1011, 'simulator error');
      }
    });
    ws.on('close', () => {
      sockets.delete(ws);
      session.dispose();
    });
    session.start();
  });
  const { port } = server.address() as { port: number };
  return {
    url: `ws://127.0.0.1:${port}/v1/realtime`,
    frames,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const ws of sockets) ws.terminate();
        server.close(() => resolve());
      }),
  };
}

export interface RelayBehindCapture {
  proc: RelayProcess;
  /** `ws://…/v1/realtime?model=gpt-realtime` */
  wsUrl: string;
  token(user: string): string;
  healthy(): Promise<boolean>;
  stop(): Promise<void>;
}

/** The relay as its own process (so a crash is seen, not suffered, by the test), with UPSTREAM_URL at `upstream`. */
export async function spawnRelayBehind(upstream: CapturingUpstream, config: Record<string, unknown>, users: string[]): Promise<RelayBehindCapture> {
  const dataDir = tempDataDir();
  const configFile = join(dataDir, 'config.json');
  writeFileSync(configFile, JSON.stringify(config));
  const tokens = await mintTokens(dataDir, users.map((id) => ({ id, maxSessions: 100 })));
  const proc = await spawnRelayProcess({ EARSHOT_DATA_DIR: dataDir, EARSHOT_CONFIG: configFile, UPSTREAM_URL: upstream.url });
  return {
    proc,
    wsUrl: `ws://127.0.0.1:${proc.port}/v1/realtime?model=gpt-realtime`,
    token: (user) => tokens[user]!,
    async healthy() {
      try {
        return (await fetch(`${proc.url}/healthz`)).status === 200;
      } catch {
        return false;
      }
    },
    async stop() {
      await proc.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
