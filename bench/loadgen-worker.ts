// One load-generator process (the bench runs two): opens its share of sessions and streams 20 ms pcm16 appends at real-time pace.
// Each frame's event_id carries its send time; the upstream echoes it back, so every frame's round trip is timed.
import WebSocket from 'ws';
import { eventIdOf, parseStamp } from './stats.ts';

export interface LoadgenJob {
  url: string;
  headers: Record<string, string>;
  sessions: number;
  /** Epoch ms: frames sent in [windowStart, windowEnd) are measured. */
  windowStart: number;
  windowEnd: number;
  /** Stop sending at windowEnd; wait this long for late echoes. */
  graceMs: number;
  /** Then keep the sessions open, idle, this long (the bench reads the relay's live memory meanwhile). */
  holdMs?: number;
  /** Audio per append (default 20): 100 sends five 20 ms frames' audio in one append every 100 ms (coalesced). */
  appendMs?: number;
}

export interface LoadgenResult {
  opened: number;
  failed: number;
  sent: number;
  received: number;
  rttMs: Float64Array;
}

const job = JSON.parse(process.env.LOADGEN_JOB!) as LoadgenJob;
// Stamps are hrtime (monotonic); translate the wall-clock window into that domain once.
const baseHr = process.hrtime.bigint();
const baseMs = Date.now();
const windowStartNs = baseHr + BigInt(Math.round((job.windowStart - baseMs) * 1e6));
const windowEndNs = baseHr + BigInt(Math.round((job.windowEnd - baseMs) * 1e6));
const appendMs = job.appendMs ?? 20;
const audio = Buffer.from(Uint8Array.from({ length: 48 * appendMs }, (_, i) => (i * 37) & 0xff)).toString('base64');
const prefix = '{"type":"input_audio_buffer.append","event_id":"t:';
const suffix = `","audio":"${audio}"}`;
const sockets: WebSocket[] = [];
const rtts: number[] = [];
let sent = 0;
let received = 0;
let failed = 0;
let seq = 0;

function onMessage(data: WebSocket.RawData): void {
  const text = data.toString();
  const id = eventIdOf(text);
  if (!id) return;
  const stamp = parseStamp(id);
  if (!stamp) return;
  const nowNs = process.hrtime.bigint();
  if (stamp.sentNs >= windowStartNs && stamp.sentNs < windowEndNs) {
    received++;
    rtts.push(Number(nowNs - stamp.sentNs) / 1e6);
  }
}

async function open(): Promise<void> {
  await Promise.all(
    Array.from({ length: job.sessions }, (_, i) =>
      new Promise<void>((resolve) => {
        setTimeout(() => {
          const ws = new WebSocket(job.url, { headers: job.headers, perMessageDeflate: false });
          ws.on('open', () => {
            sockets.push(ws);
            resolve();
          });
          ws.on('message', onMessage);
          ws.on('error', () => {
            failed++;
            resolve();
          });
        }, i * 3); // ramp: a few hundred connections a second
      }),
    ),
  );
}

await open();
// Ten groups, spread over the append period, so frames leave evenly rather than in one burst.
const groups = 10;
const timers: NodeJS.Timeout[] = [];
for (let g = 0; g < groups; g++) {
  setTimeout(() => {
    timers.push(
      setInterval(() => {
        const now = Date.now();
        if (now >= job.windowEnd) return;
        for (let i = g; i < sockets.length; i += groups) {
          const ws = sockets[i]!;
          if (ws.readyState !== WebSocket.OPEN) continue;
          const stampNs = process.hrtime.bigint();
          ws.send(`${prefix}${stampNs}:${seq++}${suffix}`);
          if (stampNs >= windowStartNs && stampNs < windowEndNs) sent++;
        }
      }, appendMs),
    );
  }, (g * appendMs) / groups);
}
setTimeout(() => {
  for (const t of timers) clearInterval(t);
  setTimeout(() => {
    for (const ws of sockets) ws.terminate();
    process.stdout.write(JSON.stringify({ opened: sockets.length, failed, sent, received, rttMs: rtts.map((v) => Math.round(v * 1000) / 1000) }), () => process.exit(0));
  }, job.graceMs + (job.holdMs ?? 0));
}, Math.max(0, job.windowEnd - Date.now()));
