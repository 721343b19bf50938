// One load-generator process: opens its share of sessions over raw `net` sockets (its own HTTP upgrade) and streams
// 20 ms pcm16 appends at real-time pace. Built to cost the load side as little per frame as possible, so that the
// relay's core is the one that saturates (issue 17): each session's append frame is built and masked ONCE
// (ws-frames.ts); a send re-masks only the 23 bytes of its event_id stamp and is one socket write; all sockets read
// into one shared buffer (`onread`, no allocation per read) and the receive side parses only frame headers and the
// first bytes of each payload, to read the echoed event_id. The relay still unmasks and parses every frame for real.
// Frame shapes are the old `ws` load generator's: `{"type":"input_audio_buffer.append","event_id":"t:<ns>:<seq>",
// "audio":"<base64>"}` up, the upstream's `response.output_audio.delta` carrying that event_id down; the stamp is
// now fixed-width (16-digit ns since this process started, 6-digit seq) so every frame has the same length.
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { FrameScanner, maskedFrame, OPCODE_CLOSE, OPCODE_PING, OPCODE_TEXT, writeMaskedDigits, type MaskedFrame } from './ws-frames.ts';

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
  /** Gap between connection attempts, ms (default 3). */
  connectGapMs?: number;
}

export interface LoadgenResult {
  opened: number;
  failed: number;
  sent: number;
  received: number;
  rttMs: Float64Array;
  /** This process's CPU seconds (user + system) over the measured window. */
  cpuSeconds: number;
  /** Sends that found the previous frame still queued in the socket (the relay was not reading fast enough). */
  backlogged: number;
}

export const STAMP_DIGITS = 16;
export const SEQ_DIGITS = 6;
const PREFIX = '{"type":"input_audio_buffer.append","event_id":"t:';
const DOWN_ID = Buffer.from('"event_id":"t:');
/** Bytes of each downlink payload kept: enough to reach the end of the stamp in a delta. */
const CAPTURE = 96;
const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

interface Session {
  socket: net.Socket;
  phase: 'http' | 'open' | 'closed';
  http: string;
  key: string;
  frame: MaskedFrame;
  scanner: FrameScanner;
}

function runLoadgen(job: LoadgenJob): void {
  const appendMs = job.appendMs ?? 20;
  const audio = Buffer.from(Uint8Array.from({ length: 48 * appendMs }, (_, i) => (i * 37) & 0xff)).toString('base64');
  const payload = Buffer.from(`${PREFIX}${'0'.repeat(STAMP_DIGITS)}:${'0'.repeat(SEQ_DIGITS)}","audio":"${audio}"}`);
  const target = new URL(job.url);
  const path = `${target.pathname}${target.search}`;
  // Stamps are ns since this process's performance origin (monotonic); the wall-clock window in that domain:
  const toPerfMs = (epochMs: number) => epochMs - performance.timeOrigin;
  const windowStartNs = toPerfMs(job.windowStart) * 1e6;
  const windowEndNs = toPerfMs(job.windowEnd) * 1e6;
  const nowNs = () => Math.round(performance.now() * 1e6);
  const sessions: Session[] = [];
  const rtts: number[] = [];
  let sent = 0;
  let received = 0;
  let failed = 0;
  let backlogged = 0;
  let seq = 0;
  const readBuffer = Buffer.allocUnsafe(256 * 1024);

  const onFrame = (opcode: number, fin: boolean, _length: number, head: Buffer, headLength: number): void => {
    if (opcode !== OPCODE_TEXT || !fin) return;
    const at = head.indexOf(DOWN_ID);
    if (at < 0 || at + DOWN_ID.length + STAMP_DIGITS > headLength) return;
    let stamp = 0;
    for (let i = at + DOWN_ID.length, e = i + STAMP_DIGITS; i < e; i++) stamp = stamp * 10 + (head[i]! - 0x30);
    if (stamp >= windowStartNs && stamp < windowEndNs) {
      received++;
      rtts.push((nowNs() - stamp) / 1e6);
    }
  };

  const openOne = (): Promise<void> =>
    new Promise((resolve) => {
      const key = randomBytes(16).toString('base64');
      const s: Session = {
        socket: undefined as unknown as net.Socket,
        phase: 'http',
        http: '',
        key,
        frame: maskedFrame(payload, randomBytes(4)),
        scanner: new FrameScanner(CAPTURE, (opcode, fin, length, head, headLength) => {
          if (opcode === OPCODE_CLOSE) s.phase = 'closed';
          else if (opcode === OPCODE_PING) s.socket.write(maskedFrame(head.subarray(0, headLength), randomBytes(4), 0xa).frame);
          else onFrame(opcode, fin, length, head, headLength);
        }),
      };
      const fail = () => {
        if (s.phase === 'http') {
          failed++;
          resolve();
        }
        s.phase = 'closed';
      };
      s.socket = net.connect({
        host: target.hostname,
        port: Number(target.port),
        noDelay: true,
        onread: {
          buffer: readBuffer,
          // Returns true: keep reading (false would pause the socket).
          callback(n: number, buf: Uint8Array): boolean {
            if (s.phase === 'open') {
              s.scanner.push(buf, 0, n);
              return true;
            }
            if (s.phase !== 'http') return true;
            s.http += Buffer.from(buf.buffer, buf.byteOffset, n).toString('latin1');
            const end = s.http.indexOf('\r\n\r\n');
            if (end < 0) return true;
            const accept = createHash('sha1').update(key + WS_GUID).digest('base64');
            const head = s.http.slice(0, end);
            if (!/^HTTP\/1\.1 101/.test(head) || !new RegExp(`\r\nsec-websocket-accept: *${accept.replace(/[+/=]/g, '\\$&')}\r?$`, 'im').test(`${head}\r\n`)) {
              s.socket.destroy();
              fail();
              return true;
            }
            s.phase = 'open';
            sessions.push(s);
            resolve();
            const rest = Buffer.from(s.http.slice(end + 4), 'latin1');
            s.http = '';
            if (rest.length) s.scanner.push(rest);
            return true;
          },
        },
      });
      s.socket.on('connect', () => {
        const headers = Object.entries(job.headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
        s.socket.write(`GET ${path} HTTP/1.1\r\nHost: ${target.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n${headers}\r\n`);
      });
      s.socket.on('error', fail);
      s.socket.on('close', fail);
    });

  const send = (s: Session): void => {
    if (s.phase !== 'open') return;
    // A still-queued write holds this very buffer (Node does not copy it): stamp a copy instead, never the queued one.
    if (s.socket.writableLength > 0) {
      backlogged++;
      s.frame = { ...s.frame, frame: Buffer.from(s.frame.frame) };
    }
    const stamp = nowNs();
    writeMaskedDigits(s.frame, PREFIX.length, STAMP_DIGITS, stamp);
    writeMaskedDigits(s.frame, PREFIX.length + STAMP_DIGITS + 1, SEQ_DIGITS, seq++ % 10 ** SEQ_DIGITS);
    s.socket.write(s.frame.frame);
    if (stamp >= windowStartNs && stamp < windowEndNs) sent++;
  };

  const gap = job.connectGapMs ?? 3;
  const opening = Array.from({ length: job.sessions }, (_, i) => new Promise<void>((r) => setTimeout(() => openOne().then(r), i * gap)));
  let cpuAtStart = process.cpuUsage();
  let cpuSeconds = 0;
  setTimeout(() => (cpuAtStart = process.cpuUsage()), Math.max(0, job.windowStart - Date.now()));
  void Promise.all(opening).then(() => {
    // Ten groups, spread over the append period, so frames leave evenly rather than in one burst. Each group's
    // next tick is set from an absolute due time (not setInterval, whose lateness adds up to a slower-than-real-time
    // stream); a tick more than one period late is dropped, not sent as a burst, so a starved load side shows as
    // frames missing from the pace, never as bursts the relay would then be blamed for.
    const groups = 10;
    const timers: NodeJS.Timeout[] = [];
    const t0 = performance.now();
    for (let g = 0; g < groups; g++) {
      let due = t0 + (g * appendMs) / groups;
      const tick = () => {
        if (Date.now() >= job.windowEnd) return;
        for (let i = g; i < sessions.length; i += groups) send(sessions[i]!);
        const now = performance.now();
        due += appendMs;
        while (due < now - appendMs) due += appendMs;
        timers[g] = setTimeout(tick, Math.max(0, due - now));
      };
      timers[g] = setTimeout(tick, Math.max(0, due - performance.now()));
    }
    setTimeout(() => {
      const used = process.cpuUsage(cpuAtStart);
      cpuSeconds = (used.user + used.system) / 1e6;
      for (const t of timers) clearTimeout(t);
      setTimeout(() => {
        const opened = sessions.length;
        for (const s of sessions) s.socket.destroy();
        const result = { opened, failed, sent, received, cpuSeconds, backlogged, rttMs: rtts.map((v) => Math.round(v * 1000) / 1000) };
        process.stdout.write(JSON.stringify(result), () => process.exit(0));
      }, job.graceMs + (job.holdMs ?? 0));
    }, Math.max(0, job.windowEnd - Date.now()));
  });
}

if (process.env.LOADGEN_JOB) runLoadgen(JSON.parse(process.env.LOADGEN_JOB) as LoadgenJob);
