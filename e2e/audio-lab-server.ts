// A tiny stand-in relay for the audio engine's browser tests: serves the production build (dist/client), answers
// GET /api/session-check, and accepts the Realtime WebSocket with Earshot's subprotocols, recording what the
// browser's session worker sends and letting the test push server events. Loopback only (127.0.0.1).
import { createServer, type Server } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { SUBPROTOCOL, TOKEN_SUBPROTOCOL_PREFIX, type SessionCheckBody } from '../protocol/relay-http.ts';

const DIST = join(import.meta.dirname, '..', 'dist', 'client');
const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json', '.svg': 'image/svg+xml', '.webmanifest': 'application/manifest+json' };

export type LabEvent = { type: string; [k: string]: unknown };

/** One accepted WebSocket. Tests talk to their own connection only: pages of earlier tests may still be closing. */
export interface LabConnection {
  ws: WebSocket;
  /** Every parsed client event on this connection, in order. */
  received: LabEvent[];
  send(event: unknown): void;
}

export interface LabServer {
  url: string;
  /** Tokens seen on upgrades. */
  tokens: string[];
  connections: LabConnection[];
  /** Resolves with connections[index] once it has been accepted. */
  connection(index: number, timeoutMs?: number): Promise<LabConnection>;
  close(): Promise<void>;
}

export const LAB_POLICY: SessionCheckBody['policy'] = {
  mutableFields: ['type', 'audio.output.voice', 'instructions', 'audio.input.turn_detection', 'audio.input.noise_reduction', 'audio.input.transcription', 'output_modalities'],
  voice: 'marin',
  voices: ['marin', 'cedar'],
  instructions: 'Be brief.',
  model: 'gpt-realtime',
};

export async function startLabServer(): Promise<LabServer> {
  const tokens: string[] = [];
  const connections: LabConnection[] = [];
  const http: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname === '/api/session-check') {
      const ok = req.headers.authorization === 'Bearer good-token';
      res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
      const body: SessionCheckBody = { user: 'lab', tokenId: 't1', expiresAt: Math.floor(Date.now() / 1000) + 3600, policy: LAB_POLICY, backend: 'simulator' };
      res.end(JSON.stringify(ok ? body : { error: { code: 'token_bad_signature', message: 'bad token' } }));
      return;
    }
    const file = normalize(join(DIST, url.pathname === '/' ? 'index.html' : url.pathname));
    if (!file.startsWith(DIST)) {
      res.writeHead(403).end();
      return;
    }
    try {
      const data = await readFile(file);
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
      res.end(data);
    } catch {
      res.writeHead(404).end('not found');
    }
  });
  const wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
  });
  http.on('upgrade', (req, socket, head) => {
    const offered = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((s) => s.trim());
    const token = offered.find((p) => p.startsWith(TOKEN_SUBPROTOCOL_PREFIX))?.slice(TOKEN_SUBPROTOCOL_PREFIX.length);
    if (new URL(req.url ?? '/', 'http://x').pathname !== '/v1/realtime' || token !== 'good-token') {
      socket.end('HTTP/1.1 401 Unauthorized\r\n\r\n');
      return;
    }
    tokens.push(token);
    wss.handleUpgrade(req, socket, head, (ws) => {
      const received: LabEvent[] = [];
      connections.push({ ws, received, send: (event) => ws.readyState === ws.OPEN && ws.send(JSON.stringify(event)) });
      ws.on('message', (data) => received.push(JSON.parse(data.toString())));
      ws.send(JSON.stringify({ type: 'session.created', event_id: 'ev_1', session: { type: 'realtime', id: 'sess_lab' } }));
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const address = http.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    tokens,
    connections,
    async connection(index, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (!connections[index]) {
        if (Date.now() > deadline) throw new Error(`no WebSocket connection #${index} within ${timeoutMs} ms (have ${connections.length})`);
        await new Promise((r) => setTimeout(r, 20));
      }
      return connections[index]!;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const { ws } of connections) ws.terminate();
        wss.close();
        http.close(() => resolve());
        http.closeAllConnections();
      }),
  };
}
