// The simulator as its own WebSocket server, shaped like the provider's endpoint (`GET /v1/realtime?model=`),
// so the relay can point UPSTREAM_URL at it exactly as at the real service. Runs on uWebSockets.js so it is
// never the bottleneck of a relay benchmark.
import uWS from 'uWebSockets.js';
import { SimulatorSession, type SimulatorOptions } from './engine.ts';

export interface SimulatorServerOptions extends SimulatorOptions {
  host?: string;
  port?: number;
  /** When set, upgrades must carry `Authorization: Bearer <apiKey>` (or `api-key: <apiKey>`), else HTTP 401. */
  apiKey?: string;
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
  model: string;
  session?: SimulatorSession;
  open: boolean;
}

function rejectUpgrade(res: uWS.HttpResponse, status: string, code: string, message: string): void {
  res.cork(() => {
    res
      .writeStatus(status)
      .writeHeader('content-type', 'application/json')
      .end(JSON.stringify({ error: { type: 'invalid_request_error', code, message, param: null, event_id: null } }));
  });
}

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
      const beta = req.getHeader('openai-beta');
      const model = new URLSearchParams(req.getQuery() ?? '').get('model') ?? 'gpt-realtime';
      const key = req.getHeader('sec-websocket-key');
      const protocol = req.getHeader('sec-websocket-protocol');
      const extensions = req.getHeader('sec-websocket-extensions');
      if (options.apiKey !== undefined && auth !== `Bearer ${options.apiKey}` && azureKey !== options.apiKey) {
        rejectUpgrade(res, '401 Unauthorized', 'invalid_api_key', 'Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.');
        return;
      }
      if (beta.includes('realtime=v1')) {
        rejectUpgrade(res, '400 Bad Request', 'beta_not_supported', 'The Realtime API beta interface is no longer supported. Remove the OpenAI-Beta header to use the GA interface.');
        return;
      }
      // Echo `realtime` if a browser-style client offered it; never echo a key-carrying subprotocol.
      const offered = protocol.split(',').map((p) => p.trim());
      const echo = offered.includes('realtime') ? 'realtime' : '';
      res.upgrade<Conn>({ model, open: false }, key, echo, extensions, context);
    },
    open(ws) {
      const conn = ws.getUserData();
      conn.open = true;
      live++;
      sockets.add(ws);
      conn.session = new SimulatorSession(
        options,
        {
          send(text) {
            if (conn.open) ws.send(text, false);
          },
          close(code, reason) {
            if (conn.open) ws.end(code, reason);
          },
        },
        conn.model,
      );
      conn.session.start();
    },
    message(ws, message) {
      // Decoding copies the bytes, which is all uWS asks of us (the ArrayBuffer dies when we return).
      try {
        ws.getUserData().session?.receive(Buffer.from(message).toString('utf8'));
      } catch {
        // A throw in a uWS handler ends the process: end this session instead, as a provider's server error would.
        const conn = ws.getUserData();
        if (conn.open) ws.end(1011, 'simulator error');
      }
    },
    close(ws) {
      const conn = ws.getUserData();
      conn.open = false;
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
  let closing: Promise<void> | null = null;
  return {
    url: `ws://${host}:${port}/v1/realtime`,
    port,
    sessions: () => live,
    upgrades: () => upgrades,
    close() {
      // Once only: closing a uWS listen socket twice aborts the process (libuv `uv__io_stop` assertion).
      closing ??= (async () => {
        uWS.us_listen_socket_close(listenSocket);
        for (const ws of [...sockets]) ws.end(1001, 'simulator shutting down');
        // Let uWS run the close handlers before callers look at counters.
        await new Promise((r) => setImmediate(r));
      })();
      return closing;
    },
  };
}
