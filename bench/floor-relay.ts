// The floor: a bare uWS forwarder (uWS server, `ws` upstream client per session, bytes forwarded verbatim),
// with none of Earshot's auth, policy, limits, metrics or accounting. What a relay costs at the least.
// Run: PORT=… UPSTREAM_URL=ws://…/v1/realtime node --import tsx bench/floor-relay.ts
import uWS from 'uWebSockets.js';
import WebSocket from 'ws';

interface Conn {
  upstream?: WebSocket;
  open: boolean;
}
const upstreamUrl = process.env.UPSTREAM_URL!;
uWS
  .App()
  .ws<Conn>('/v1/realtime', {
    idleTimeout: 60,
    maxPayloadLength: 1 << 20,
    maxBackpressure: 16 << 20,
    upgrade(res, req, context) {
      res.upgrade<Conn>({ open: false }, req.getHeader('sec-websocket-key'), req.getHeader('sec-websocket-protocol'), req.getHeader('sec-websocket-extensions'), context);
    },
    open(ws) {
      const conn = ws.getUserData();
      conn.open = true;
      const upstream = new WebSocket(`${upstreamUrl}?model=gpt-realtime`, { perMessageDeflate: false });
      conn.upstream = upstream;
      upstream.on('message', (data) => {
        if (conn.open) ws.cork(() => ws.send(data as Buffer, false));
      });
      upstream.on('close', () => {
        if (conn.open) ws.end(1000);
      });
      upstream.on('error', () => undefined);
    },
    message(ws, message) {
      const upstream = ws.getUserData().upstream;
      // Copy: uWS reuses the buffer after this handler returns.
      const copy = Buffer.from(new Uint8Array(message));
      if (upstream?.readyState === WebSocket.OPEN) upstream.send(copy, { binary: false });
    },
    close(ws) {
      const conn = ws.getUserData();
      conn.open = false;
      conn.upstream?.close();
    },
  })
  .listen('127.0.0.1', Number(process.env.PORT ?? 0), (socket) => {
    if (!socket) process.exit(1);
    console.log(JSON.stringify({ msg: 'listening', url: `http://127.0.0.1:${uWS.us_socket_local_port(socket)}` }));
  });
