// The relay bench's upstream stand-in (its own process, on the load side's core): uWS parses the frames natively,
// the real simulator engine answers everything a relay waits for (session.created on open, session.update, …), and
// only the hot frame, `input_audio_buffer.append`, takes a fast path: its echo, `response.output_audio.delta` with
// the client's event_id and the same audio, is assembled by byte copies into one scratch buffer — byte for byte
// what the simulator's benchmark mode emits (echo-upstream.test.ts checks that), without JSON.parse, base64
// decoding or JSON.stringify per frame. Unlike the simulator it does not validate the audio's base64.
// Run: PORT=0 node --import tsx bench/echo-upstream.ts  (prints {"msg":"simulator listening","url":…})
import uWS from 'uWebSockets.js';
import { SimulatorSession } from '../relay/src/simulator/engine.ts';

const APPEND_PREFIX = Buffer.from('{"type":"input_audio_buffer.append","event_id":"');
const AUDIO_KEY = Buffer.from('","audio":"');
const END = Buffer.from('"}');
// The simulator's benchmark echo, in its key order (input-audio.ts).
const DELTA_PREFIX = Buffer.from('{"type":"response.output_audio.delta","event_id":"');
const DELTA_MIDDLE = Buffer.from('","response_id":"resp_bench","item_id":"item_bench","output_index":0,"content_index":0,"delta":"');

/**
 * The echo of an append frame, written into `out` (grown as needed); returns the reply's length, or -1 when the
 * frame is not a plain append in the load generator's shape (the caller hands it to the simulator instead).
 */
export function echoAppend(frame: Buffer, scratch: { out: Buffer }): number {
  const p = APPEND_PREFIX.length;
  if (frame.length < p + AUDIO_KEY.length + END.length || APPEND_PREFIX.compare(frame, 0, p) !== 0) return -1;
  const idEnd = frame.indexOf(0x22, p);
  if (idEnd < 0 || AUDIO_KEY.compare(frame, idEnd, idEnd + AUDIO_KEY.length) !== 0) return -1;
  const audioStart = idEnd + AUDIO_KEY.length;
  const audioEnd = frame.length - END.length;
  if (audioEnd < audioStart || END.compare(frame, audioEnd) !== 0 || frame.indexOf(0x22, audioStart) !== audioEnd) return -1;
  const idLength = idEnd - p;
  const audioLength = audioEnd - audioStart;
  const length = DELTA_PREFIX.length + idLength + DELTA_MIDDLE.length + audioLength + END.length;
  if (scratch.out.length < length) scratch.out = Buffer.allocUnsafe(length * 2);
  const out = scratch.out;
  let o = DELTA_PREFIX.copy(out, 0);
  o += frame.copy(out, o, p, idEnd);
  o += DELTA_MIDDLE.copy(out, o);
  o += frame.copy(out, o, audioStart, audioEnd);
  END.copy(out, o);
  return length;
}

interface Conn {
  session?: SimulatorSession;
  live: boolean;
}

export interface EchoUpstream {
  url: string;
  close(): void;
}

export async function startEchoUpstream(host = '127.0.0.1', port = 0): Promise<EchoUpstream> {
  const scratch = { out: Buffer.allocUnsafe(4096) };
  const app = uWS.App().ws<Conn>('/v1/realtime', {
    idleTimeout: 120,
    maxPayloadLength: 16 * 1024 * 1024,
    maxBackpressure: 64 * 1024 * 1024,
    upgrade(res, req, context) {
      res.upgrade<Conn>({ live: false }, req.getHeader('sec-websocket-key'), '', req.getHeader('sec-websocket-extensions'), context);
    },
    open(ws) {
      const conn = ws.getUserData();
      conn.live = true;
      conn.session = new SimulatorSession({ benchmark: true }, { send: (text) => conn.live && ws.send(text, false), close: (code, reason) => conn.live && ws.end(code, reason) });
      conn.session.start();
    },
    message(ws, message, isBinary) {
      const conn = ws.getUserData();
      // A view, not a copy: MUST NOT be kept past this handler (uWS reuses the memory); send() copies the reply.
      const frame = Buffer.from(message);
      const n = isBinary ? -1 : echoAppend(frame, scratch);
      if (n >= 0) {
        ws.send(scratch.out.subarray(0, n), false);
        return;
      }
      try {
        if (isBinary) conn.session?.receiveBinary();
        else conn.session?.receive(frame.toString('utf8'));
      } catch {
        // A throw in a uWS handler ends the process: end this session instead.
        if (conn.live) ws.end(1011, 'upstream stand-in error');
      }
    },
    close(ws) {
      const conn = ws.getUserData();
      conn.live = false;
      conn.session?.dispose();
    },
  });
  const socket = await new Promise<uWS.us_listen_socket>((resolve, reject) => app.listen(host, port, (s) => (s ? resolve(s) : reject(new Error(`echo upstream could not listen on ${host}:${port}`)))));
  return { url: `ws://${host}:${uWS.us_socket_local_port(socket)}/v1/realtime`, close: () => uWS.us_listen_socket_close(socket) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const up = await startEchoUpstream(process.env.HOST ?? '127.0.0.1', Number(process.env.PORT ?? 0));
  console.log(JSON.stringify({ msg: 'simulator listening', url: up.url, benchmark: true }));
}
