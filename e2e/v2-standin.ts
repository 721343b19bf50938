// A stand-in for the relay's side of earshot.v2 (protocol/app-link.ts), in front of the real relay, for the app's
// browser tests until the relay speaks v2 itself: HTTP is proxied to the relay unchanged (the page, its assets,
// /api/session-check); a WebSocket that offers earshot.v2 is accepted here and bridged to the relay's verbatim
// /v1/realtime path, transcoding Opus <-> pcm16 with @evan/opus's native libopus (a different build than the WASM
// the app may use). It implements what the app relies on — message 1 `earshot.session`, heartbeat both ways,
// gap fill from captureMs, Discontinuity -> input_audio_buffer.clear, AudioDown in 60 ms packets with stream
// announcements, `earshot.capture_clock` for speech_stopped — but not resume (a resume offer gets
// `resumed:false, resume_failed:'unknown'`). Loopback only.
import { createRequire } from 'node:module';
import { createServer, request, type Server } from 'node:http';
import WebSocket, { WebSocketServer } from 'ws';
import {
  APP_SUBPROTOCOL,
  AudioDownFlags,
  AudioUpFlags,
  decodeAppFrame,
  encodeAudioDown,
  type LinkControlToClient,
} from '../protocol/app-link.ts';
import { SUBPROTOCOL, TOKEN_SUBPROTOCOL_PREFIX } from '../protocol/relay-http.ts';

const require = createRequire(import.meta.url);
const native = require('@evan/opus/node/index.js') as {
  Encoder: new (o: { channels: number; sample_rate: number; application?: string }) => { encode(pcm: Uint8Array): Uint8Array; bitrate: number };
  Decoder: new (o: { channels: number; sample_rate: number }) => { decode(packet: Uint8Array): Uint8Array };
};

const DOWN_SAMPLES = 1440; // 60 ms at 24 kHz

export interface StandinStats {
  /** WebSocket payload bytes between the browser and the stand-in, each way. */
  bytesFromApp: number;
  bytesToApp: number;
  audioUpFrames: number;
  discontinuities: number;
  pingsFromApp: number;
  pongsFromApp: number;
  links: number;
}

export interface V2Standin {
  url: string;
  stats: StandinStats;
  close(): Promise<void>;
}

export async function startV2Standin(relayUrl: string): Promise<V2Standin> {
  const relay = new URL(relayUrl);
  const stats: StandinStats = { bytesFromApp: 0, bytesToApp: 0, audioUpFrames: 0, discontinuities: 0, pingsFromApp: 0, pongsFromApp: 0, links: 0 };
  const http: Server = createServer((req, res) => {
    const upstream = request({ host: relay.hostname, port: relay.port, path: req.url, method: req.method, headers: { ...req.headers, host: relay.host } }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  const wss = new WebSocketServer({ server: http, handleProtocols: (p) => (p.has(APP_SUBPROTOCOL) ? APP_SUBPROTOCOL : false) });
  const sockets = new Set<WebSocket>();
  let sessions = 0;
  wss.on('connection', (app, req) => {
    stats.links++;
    sockets.add(app);
    const offered = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
    const token = offered.find((p) => p.startsWith(TOKEN_SUBPROTOCOL_PREFIX))?.slice(TOKEN_SUBPROTOCOL_PREFIX.length) ?? '';
    const resumeOffered = offered.some((p) => p.startsWith('earshot-resume.'));
    const upstream = new WebSocket(`ws://${relay.host}/v1/realtime`, [SUBPROTOCOL, `${TOKEN_SUBPROTOCOL_PREFIX}${token}`]);
    sockets.add(upstream);
    const decoder = new native.Decoder({ channels: 1, sample_rate: 24_000 });
    const encoder = new native.Encoder({ channels: 1, sample_rate: 24_000, application: 'voip' });
    encoder.bitrate = 24_000;
    const toApp = (data: string | Uint8Array) => {
      if (app.readyState !== WebSocket.OPEN) return;
      stats.bytesToApp += typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
      app.send(data);
    };
    const control = (event: LinkControlToClient) => toApp(JSON.stringify(event));
    const pendingUp: string[] = [];
    const toRelay = (event: unknown) => {
      const text = JSON.stringify(event);
      if (upstream.readyState === WebSocket.OPEN) upstream.send(text);
      else pendingUp.push(text);
    };
    upstream.on('open', () => {
      for (const text of pendingUp.splice(0)) upstream.send(text);
    });
    const n = ++sessions;
    control({
      type: 'earshot.session',
      session_id: `standin_${n}`,
      resume_token: `standin${n}`,
      resume_grace_ms: 30_000,
      heartbeat_ms: 1000,
      resumed: false,
      ...(resumeOffered ? { resume_failed: 'unknown' as const } : {}),
      audio: { codec: 'opus', sample_rate: 24_000, up_frame_ms: 40, down_frame_ms: 60 },
    });
    let pingId = 0;
    const pinger = setInterval(() => control({ type: 'earshot.ping', id: ++pingId, t: Date.now() }), 1000);

    // Up: Opus -> pcm16 appends, with silence where the app sent nothing (DTX, the barge-in guard). The gap is
    // filled on a clock, not only when the next packet comes: during a long DTX stretch (WebCodecs sends nothing at
    // all) the provider's VAD must still see the silence pass, or it never ends the turn.
    let firstCaptureMs: number | null = null;
    let firstAt = 0;
    let appendedMs = 0;
    const GAP_SLACK_MS = 120;
    const gapFill = setInterval(() => {
      if (firstCaptureMs === null) return;
      const due = Date.now() - firstAt - GAP_SLACK_MS;
      if (due - appendedMs >= 20) {
        const ms = Math.floor((due - appendedMs) / 20) * 20;
        toRelay({ type: 'input_audio_buffer.append', audio: Buffer.alloc(ms * 48).toString('base64') });
        appendedMs += ms;
      }
    }, 20);
    app.on('message', (data, isBinary) => {
      const bytes = data as Buffer;
      stats.bytesFromApp += bytes.byteLength;
      if (!isBinary) {
        const event = JSON.parse(bytes.toString()) as { type: string; id?: number; t?: number };
        if (event.type === 'earshot.ping') {
          stats.pingsFromApp++;
          control({ type: 'earshot.pong', id: event.id ?? 0, t: event.t ?? 0 });
        } else if (event.type === 'earshot.pong') stats.pongsFromApp++;
        else toRelay(event);
        return;
      }
      const frame = decodeAppFrame(new Uint8Array(bytes));
      if (!frame.ok || frame.header.kind !== 1) return;
      stats.audioUpFrames++;
      if (frame.header.flags & AudioUpFlags.Discontinuity) {
        stats.discontinuities++;
        toRelay({ type: 'input_audio_buffer.clear' });
      }
      if (firstCaptureMs === null) {
        firstCaptureMs = frame.header.captureMs;
        firstAt = Date.now();
      }
      const at = frame.header.captureMs - firstCaptureMs;
      if (at + 40 <= appendedMs) return; // its time was already filled with silence: too late to matter
      if (at > appendedMs) {
        const gap = Math.min(at - appendedMs, 5000);
        toRelay({ type: 'input_audio_buffer.append', audio: Buffer.alloc(gap * 48).toString('base64') });
        appendedMs += gap;
      }
      const pcm = decoder.decode(frame.payload);
      toRelay({ type: 'input_audio_buffer.append', audio: Buffer.from(pcm).toString('base64') });
      appendedMs += pcm.byteLength / 48;
    });

    // Down: pcm16 deltas -> 60 ms Opus packets.
    const streams = new Map<string, { ref: number; offset: number; pending: Buffer }>();
    let nextRef = 1;
    const sendPacket = (s: { ref: number; offset: number }, pcm: Buffer, samples: number, flags: number) => {
      const padded = pcm.byteLength === DOWN_SAMPLES * 2 ? pcm : Buffer.concat([pcm, Buffer.alloc(DOWN_SAMPLES * 2 - pcm.byteLength)]);
      toApp(encodeAudioDown({ flags, streamRef: s.ref, sampleOffset: s.offset, samples }, encoder.encode(padded)));
      s.offset += samples;
    };
    // server_vad's audio_end_ms includes its silence window; the end of speech is that much earlier (as the relay does).
    let silenceMs = 0;
    upstream.on('message', (data) => {
      const text = data.toString();
      const event = JSON.parse(text) as {
        type: string;
        item_id?: string;
        response_id?: string;
        output_index?: number;
        content_index?: number;
        delta?: string;
        audio_end_ms?: number;
        session?: { audio?: { input?: { turn_detection?: { type?: string; silence_duration_ms?: number } | null } } };
      };
      if (event.type === 'session.created' || event.type === 'session.updated') {
        const td = event.session?.audio?.input?.turn_detection;
        silenceMs = td?.type === 'server_vad' && typeof td.silence_duration_ms === 'number' ? td.silence_duration_ms : 0;
      }
      if (event.type === 'response.output_audio.delta' && event.item_id) {
        let s = streams.get(event.item_id);
        if (!s) {
          s = { ref: nextRef++, offset: 0, pending: Buffer.alloc(0) };
          streams.set(event.item_id, s);
          control({ type: 'earshot.audio.stream', ref: s.ref, response_id: event.response_id ?? '', item_id: event.item_id, output_index: event.output_index ?? 0, content_index: event.content_index ?? 0 });
        }
        s.pending = Buffer.concat([s.pending, Buffer.from(event.delta ?? '', 'base64')]);
        while (s.pending.byteLength >= DOWN_SAMPLES * 2) {
          sendPacket(s, s.pending.subarray(0, DOWN_SAMPLES * 2), DOWN_SAMPLES, 0);
          s.pending = s.pending.subarray(DOWN_SAMPLES * 2);
        }
        return;
      }
      if (event.type === 'response.output_audio.done' && event.item_id) {
        const s = streams.get(event.item_id);
        if (s) sendPacket(s, s.pending, s.pending.byteLength / 2, AudioDownFlags.EndOfStream);
        streams.delete(event.item_id);
      }
      toApp(text);
      if (event.type === 'input_audio_buffer.speech_stopped' && firstCaptureMs !== null && event.item_id) {
        control({ type: 'earshot.capture_clock', event: 'input_audio_buffer.speech_stopped', item_id: event.item_id, capture_ms: firstCaptureMs + Math.max(0, (event.audio_end_ms ?? 0) - silenceMs) });
      }
    });
    const end = () => {
      clearInterval(pinger);
      clearInterval(gapFill);
      sockets.delete(app);
      sockets.delete(upstream);
      if (app.readyState === WebSocket.OPEN) app.close(1000);
      if (upstream.readyState === WebSocket.OPEN || upstream.readyState === WebSocket.CONNECTING) upstream.terminate();
    };
    app.on('close', end);
    upstream.on('close', (code) => {
      if (app.readyState === WebSocket.OPEN) app.close(code >= 4000 || code === 1000 || code === 1001 ? code : 1011);
      end();
    });
    app.on('error', end);
    upstream.on('error', end);
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const addr = http.address();
  return {
    url: `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`,
    stats,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.terminate();
        wss.close();
        http.close(() => r());
        http.closeAllConnections();
      }),
  };
}
