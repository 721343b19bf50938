// A small network probe run inside one of the emulator's namespaces (`ip netns exec … node probe-agent.ts`), so
// the emulator's tests can measure the real data path from outside the process that shapes it. It takes one JSON
// command per stdin line and answers each with one JSON line on stdout carrying the same `id`.
// Runs on the main thread of its own Node process; `ws` is the only dependency (the relay's upstream client).
import { createSocket } from 'node:dgram';
import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';
import { WebSocket, WebSocketServer } from 'ws';

export type ProbeCommand =
  /** ws echo server; binary messages are counted (upload), `download:<n>` is answered with n bytes. */
  | { id: number; cmd: 'ws-listen'; host: string; port: number }
  | { id: number; cmd: 'ws-connect'; conn: string; url: string }
  /** One text round trip; answers `{ rttMs }` or `{ timeout: true }`. */
  | { id: number; cmd: 'ws-echo'; conn: string; timeoutMs: number }
  /** Sends `bytes` in 16 KiB binary messages and waits for the server's count: `{ ms }` from first send to all counted. */
  | { id: number; cmd: 'ws-upload'; conn: string; bytes: number }
  /** Asks for `bytes` and times their arrival: `{ ms }`. */
  | { id: number; cmd: 'ws-download'; conn: string; bytes: number }
  /** Remote addresses the ws server has seen, in order. */
  | { id: number; cmd: 'ws-peers' }
  | { id: number; cmd: 'udp-listen'; host: string; port: number }
  /** Sends `count` numbered datagrams every `intervalMs`. */
  | { id: number; cmd: 'udp-send'; host: string; port: number; count: number; intervalMs: number }
  /** Sequence numbers the UDP listener has received, in arrival order. */
  | { id: number; cmd: 'udp-received' };

const out = (msg: Record<string, unknown>): void => void process.stdout.write(`${JSON.stringify(msg)}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let server: WebSocketServer | null = null;
const peers: string[] = [];
const conns = new Map<string, { ws: WebSocket; inbox: Array<(data: Buffer, binary: boolean) => boolean> }>();
const udpReceived: number[] = [];

async function handle(c: ProbeCommand): Promise<Record<string, unknown>> {
  switch (c.cmd) {
    case 'ws-listen': {
      server = new WebSocketServer({ host: c.host, port: c.port });
      await new Promise((r) => server!.once('listening', r));
      server.on('connection', (ws, req) => {
        peers.push(req.socket.remoteAddress ?? '?');
        let uploaded = 0;
        ws.on('message', (data: Buffer, binary) => {
          if (binary) {
            uploaded += data.byteLength;
            ws.send(`uploaded:${uploaded}`);
          } else if (data.toString().startsWith('download:')) {
            let left = Number(data.toString().slice('download:'.length));
            while (left > 0) {
              const n = Math.min(left, 16_384);
              ws.send(Buffer.alloc(n, 7));
              left -= n;
            }
          } else ws.send(data.toString());
        });
      });
      return { port: (server.address() as { port: number }).port };
    }
    case 'ws-connect': {
      const ws = new WebSocket(c.url);
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      const entry = { ws, inbox: [] as Array<(data: Buffer, binary: boolean) => boolean> };
      ws.on('message', (data: Buffer, binary) => {
        entry.inbox = entry.inbox.filter((wants) => !wants(data, binary));
      });
      ws.on('error', () => undefined);
      conns.set(c.conn, entry);
      return {};
    }
    case 'ws-echo': {
      const entry = conns.get(c.conn)!;
      const token = `echo:${c.id}`;
      const started = performance.now();
      return new Promise((resolve) => {
        const timer = setTimeout(() => resolve({ timeout: true }), c.timeoutMs);
        entry.inbox.push((data, binary) => {
          if (binary || data.toString() !== token) return false;
          clearTimeout(timer);
          resolve({ rttMs: performance.now() - started });
          return true;
        });
        entry.ws.send(token);
      });
    }
    case 'ws-upload': {
      const entry = conns.get(c.conn)!;
      const started = performance.now();
      const done = new Promise<Record<string, unknown>>((resolve) =>
        entry.inbox.push((data, binary) => {
          if (binary || data.toString() !== `uploaded:${c.bytes}`) return false;
          resolve({ ms: performance.now() - started });
          return true;
        }),
      );
      for (let left = c.bytes; left > 0; left -= 16_384) entry.ws.send(Buffer.alloc(Math.min(left, 16_384), 1));
      return done;
    }
    case 'ws-download': {
      const entry = conns.get(c.conn)!;
      const started = performance.now();
      let got = 0;
      const done = new Promise<Record<string, unknown>>((resolve) =>
        entry.inbox.push((data, binary) => {
          if (!binary) return false;
          got += data.byteLength;
          if (got < c.bytes) return false;
          resolve({ ms: performance.now() - started });
          return true;
        }),
      );
      entry.ws.send(`download:${c.bytes}`);
      return done;
    }
    case 'ws-peers':
      return { peers };
    case 'udp-listen': {
      const socket = createSocket('udp4');
      socket.on('message', (msg) => udpReceived.push(msg.readUInt32BE(0)));
      await new Promise<void>((r) => socket.bind(c.port, c.host, () => r()));
      return {};
    }
    case 'udp-send': {
      const socket = createSocket('udp4');
      for (let i = 0; i < c.count; i++) {
        const msg = Buffer.alloc(200);
        msg.writeUInt32BE(i, 0);
        socket.send(msg, c.port, c.host);
        await sleep(c.intervalMs);
      }
      socket.close();
      return {};
    }
    case 'udp-received':
      return { received: udpReceived };
  }
}

createInterface({ input: process.stdin }).on('line', (line) => {
  const command = JSON.parse(line) as ProbeCommand;
  handle(command).then(
    (result) => out({ id: command.id, ...result }),
    (err: unknown) => out({ id: command.id, error: err instanceof Error ? err.message : String(err) }),
  );
});
out({ ready: true });
