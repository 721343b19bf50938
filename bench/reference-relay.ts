// The reference: a relay written the usual way (as in the article in ../shared/seed): a Node `ws` server that
// opens a `ws` upstream per client and forwards every message as a string. No auth, policy or accounting.
// Run: PORT=… UPSTREAM_URL=ws://…/v1/realtime node --import tsx bench/reference-relay.ts
import WebSocket, { WebSocketServer } from 'ws';

const upstreamUrl = process.env.UPSTREAM_URL!;
const wss = new WebSocketServer({ host: '127.0.0.1', port: Number(process.env.PORT ?? 0) });
wss.on('connection', (client) => {
  const upstream = new WebSocket(`${upstreamUrl}?model=gpt-realtime`);
  const pending: string[] = [];
  upstream.on('open', () => {
    for (const m of pending.splice(0)) upstream.send(m);
  });
  upstream.on('message', (message) => client.send(message.toString()));
  upstream.on('close', () => client.close());
  upstream.on('error', () => client.close());
  client.on('message', (message) => {
    if (upstream.readyState === WebSocket.OPEN) upstream.send(message.toString());
    else pending.push(message.toString());
  });
  client.on('close', () => upstream.close());
});
wss.on('listening', () => {
  const address = wss.address() as { port: number };
  console.log(JSON.stringify({ msg: 'listening', url: `http://127.0.0.1:${address.port}` }));
});
