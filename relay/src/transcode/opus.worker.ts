// An Opus worker thread: decodes the app's microphone packets and encodes the provider's audio deltas, so the
// uWS event loop never does codec work. Owns all codec state; jobs are answered in the order they arrive.
// A job's error is answered as data (`failed`) and the worker goes on; only a crash of the thread itself
// ends the sessions it served (transcode/pool.ts).
import { parentPort } from 'node:worker_threads';
import type OpusScript from 'opusscript';
import { assertNever, type EncodedPacket, type FromOpusWorker, type StreamKey, type ToOpusWorker } from './messages.ts';
import { decodePacket, DOWN_FRAME_SAMPLES, encodeFrame, makeDecoder, makeEncoder } from './opus-codec.ts';

interface Stream {
  key: StreamKey;
  encoder: OpusScript;
  /** Samples of a delta that did not fill a whole frame, carried into the next delta. */
  rest: Int16Array;
  /** Samples encoded so far (the next packet's sampleOffset). */
  offset: number;
}

interface LinkState {
  decoder: OpusScript | null;
  streams: Map<string, Stream>;
}

const links = new Map<number, LinkState>();
const port = parentPort;
if (!port) throw new Error('opus.worker.ts runs as a worker thread');

function stateOf(link: number): LinkState {
  let state = links.get(link);
  if (!state) {
    state = { decoder: null, streams: new Map() };
    links.set(link, state);
  }
  return state;
}

const streamId = (itemId: string, contentIndex: number) => `${itemId}\u0000${contentIndex}`;

function encodeDelta(link: number, text: string): { stream: StreamKey; packets: EncodedPacket[] } {
  const event = JSON.parse(text) as Partial<StreamKey> & { delta?: unknown };
  if (typeof event.item_id !== 'string' || typeof event.delta !== 'string') throw new Error('output_audio.delta without item_id or delta');
  const key: StreamKey = {
    response_id: typeof event.response_id === 'string' ? event.response_id : '',
    item_id: event.item_id,
    output_index: typeof event.output_index === 'number' ? event.output_index : 0,
    content_index: typeof event.content_index === 'number' ? event.content_index : 0,
  };
  const state = stateOf(link);
  const id = streamId(key.item_id, key.content_index);
  let stream = state.streams.get(id);
  if (!stream) {
    stream = { key, encoder: makeEncoder(), rest: new Int16Array(0), offset: 0 };
    state.streams.set(id, stream);
  }
  const bytes = Buffer.from(event.delta, 'base64');
  const fresh = new Int16Array(bytes.byteLength >> 1);
  new Uint8Array(fresh.buffer).set(bytes.subarray(0, fresh.byteLength));
  const all = new Int16Array(stream.rest.length + fresh.length);
  all.set(stream.rest);
  all.set(fresh, stream.rest.length);
  const packets: EncodedPacket[] = [];
  let at = 0;
  for (; at + DOWN_FRAME_SAMPLES <= all.length; at += DOWN_FRAME_SAMPLES) {
    packets.push({ opus: encodeFrame(stream.encoder, all.subarray(at, at + DOWN_FRAME_SAMPLES)), sampleOffset: stream.offset, samples: DOWN_FRAME_SAMPLES, end: false });
    stream.offset += DOWN_FRAME_SAMPLES;
  }
  stream.rest = all.slice(at);
  return { stream: key, packets };
}

/** The stream's last packet: what is left, padded to a whole frame, flagged END_OF_STREAM; frees the encoder. */
function endStream(link: number, itemId: string, contentIndex: number): { stream: StreamKey | null; packets: EncodedPacket[] } {
  const state = links.get(link);
  const id = streamId(itemId, contentIndex);
  const stream = state?.streams.get(id);
  if (!state || !stream) return { stream: null, packets: [] };
  state.streams.delete(id);
  const frame = new Int16Array(DOWN_FRAME_SAMPLES);
  frame.set(stream.rest);
  const packet = { opus: encodeFrame(stream.encoder, frame), sampleOffset: stream.offset, samples: stream.rest.length, end: true };
  stream.encoder.delete();
  return { stream: stream.key, packets: [packet] };
}

function closeLink(link: number): void {
  const state = links.get(link);
  if (!state) return;
  links.delete(link);
  state.decoder?.delete();
  for (const stream of state.streams.values()) stream.encoder.delete();
}

function handle(msg: ToOpusWorker): FromOpusWorker | null {
  switch (msg.kind) {
    case 'decode': {
      const state = stateOf(msg.link);
      state.decoder ??= makeDecoder();
      return { kind: 'decoded', job: msg.job, pcm: decodePacket(state.decoder, msg.opus) };
    }
    case 'encode':
      return { kind: 'encoded', job: msg.job, ...encodeDelta(msg.link, msg.delta) };
    case 'end':
      return { kind: 'encoded', job: msg.job, ...endStream(msg.link, msg.item_id, msg.content_index) };
    case 'close':
      closeLink(msg.link);
      return null;
    default:
      return assertNever(msg);
  }
}

const transferOf = (reply: FromOpusWorker): ArrayBuffer[] =>
  reply.kind === 'decoded' ? [reply.pcm.buffer as ArrayBuffer] : reply.kind === 'encoded' ? reply.packets.map((p) => p.opus.buffer as ArrayBuffer) : [];

port.on('message', (msg: ToOpusWorker) => {
  let reply: FromOpusWorker | null;
  try {
    reply = handle(msg);
  } catch (err) {
    reply = 'job' in msg ? { kind: 'failed', job: msg.job, message: err instanceof Error ? err.message : String(err) } : null;
  }
  if (reply) port.postMessage(reply, transferOf(reply));
});
