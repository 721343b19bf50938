// The simulator as its own WebSocket server, shaped like the provider's endpoint (`GET /v1/realtime?model=`),
// so the relay can point UPSTREAM_URL at it exactly as at the real service. Runs on uWebSockets.js so it is
// never the bottleneck of a relay benchmark.
import uWS from 'uWebSockets.js';
import { SimulatorSession, type SessionOpen, type SimulatorOptions } from './engine.ts';

export interface SimulatorServerOptions extends SimulatorOptions {
  host?: string;
  port?: number;
  /**
   * When set, sessions must present `Authorization: Bearer <apiKey>` (or `api-key: <apiKey>`); otherwise, as the
   * provider does, the upgrade succeeds and the session gets one `error` and close 3000.
   */
  apiKey?: string;
  /** A WebSocket ping to sessions idle this long (default 20 s, as the provider). */
  pingIntervalMs?: number;
}

export interface SimulatorServer {
  url: string;
  port: number;
  /** Sessions currently open (tests use it to prove that no upstream was opened). */
  sessions(): number;
  /** Upgrade requests seen, accepted or not. */
  upgrades(): number;
  close(): Promise<void>;
}

interface Conn {
  open: SessionOpen;
  session?: SimulatorSession;
  live: boolean;
  /** Date.now() of the last frame either way, for idle pings. */
  lastActivity: number;
}

const PROVIDER_PING_INTERVAL_MS = 20_000;

export async function startSimulatorServer(options: SimulatorServerOptions = {}): Promise<SimulatorServer> {
  const host = options.host ?? '127.0.0.1';
  let live = 0;
  let upgrades = 0;
  const sockets = new Set<uWS.WebSocket<Conn>>();
  const app = uWS.App();
  app.ws<Conn>('/v1/realtime', {
    idleTimeout: 120,
    maxPayloadLength: 16 * 1024 * 1024,
    maxBackpressure: 64 * 1024 * 1024,
    upgrade(res, req, context) {
      upgrades++;
      const auth = req.getHeader('authorization');
      const azureKey = req.getHeader('api-key');
      const query = new URLSearchParams(req.getQuery() ?? '');
      const key = req.getHeader('sec-websocket-key');
      const protocol = req.getHeader('sec-websocket-protocol');
      const extensions = req.getHeader('sec-websocket-extensions');
      // Echo `realtime` if a browser-style client offered it; never echo a key-carrying subprotocol.
      const offered = protocol.split(',').map((p) => p.trim());
      const echo = offered.includes('realtime') ? 'realtime' : '';
      const browserKey = offered.find((p) => p.startsWith('openai-insecure-api-key.'))?.slice('openai-insecure-api-key.'.length);
      const presentedKey = auth.startsWith('Bearer ') ? auth.slice(7) : azureKey || browserKey || null;
      // Refusals come after the upgrade, in `open`: the provider answers 101 and then closes (connect-check.ts).
      const open: SessionOpen = {
        model: query.get('model'),
        intent: query.get('intent'),
        presentedKey,
        expectedKey: options.apiKey ?? null,
        betaHeader: req.getHeader('openai-beta'),
      };
      res.upgrade<Conn>({ open, live: false, lastActivity: Date.now() }, key, echo, extensions, context);
    },
    open(ws) {
      const conn = ws.getUserData();
      conn.live = true;
      live++;
      sockets.add(ws);
      conn.session = new SimulatorSession(
        options,
        {
          send(text) {
            if (!conn.live) return;
            conn.lastActivity = Date.now();
            ws.send(text, false);
          },
          close(code, reason) {
            if (conn.live) ws.end(code, reason);
          },
        },
        conn.open,
      );
      conn.session.start();
    },
    message(ws, message, isBinary) {
      const conn = ws.getUserData();
      conn.lastActivity = Date.now();
      if (isBinary) {
        conn.session?.receiveBinary();
        return;
      }
      // Decoding copies the bytes, which is all uWS asks of us (the ArrayBuffer dies when we return).
      try {
        conn.session?.receive(Buffer.from(message).toString('utf8'));
      } catch {
        // A throw in a uWS handler ends the process: end this session instead, as a provider's server error would.
        if (conn.live) ws.end(1011, 'simulator error');
      }
    },
    close(ws) {
      const conn = ws.getUserData();
      conn.live = false;
      live--;
      sockets.delete(ws);
      conn.session?.dispose();
    },
  });
  app.any('/*', (res) => {
    res.writeStatus('404 Not Found').end('not found');
  });
  const listenSocket = await new Promise<uWS.us_listen_socket>((resolve, reject) => {
    app.listen(host, options.port ?? 0, (socket) => (socket ? resolve(socket) : reject(new Error(`simulator could not listen on ${host}:${options.port ?? 0}`))));
  });
  const port = uWS.us_socket_local_port(listenSocket);
  // The provider pings idle sessions; clients (and the relay's `ws` upstream) answer with pongs by themselves.
  const pingEvery = options.pingIntervalMs ?? PROVIDER_PING_INTERVAL_MS;
  const pinger = setInterval(() => {
    const now = Date.now();
    for (const ws of sockets) {
      const conn = ws.getUserData();
      if (conn.live && now - conn.lastActivity >= pingEvery) {
        conn.lastActivity = now;
        ws.ping();
      }
    }
  }, Math.max(10, Math.floor(pingEvery / 2)));
  pinger.unref();
  let closing: Promise<void> | null = null;
  return {
    url: `ws://${host}:${port}/v1/realtime`,
    port,
    sessions: () => live,
    upgrades: () => upgrades,
    close() {
      // Once only: closing a uWS listen socket twice aborts the process (libuv `uv__io_stop` assertion).
      closing ??= (async () => {
        clearInterval(pinger);
        uWS.us_listen_socket_close(listenSocket);
        for (const ws of [...sockets]) ws.end(1001, 'simulator shutting down');
        // Let uWS run the close handlers before callers look at counters.
        await new Promise((r) => setImmediate(r));
      })();
      return closing;
    },
  };
}
