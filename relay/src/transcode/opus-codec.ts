// Opus at the provider's rate (24 kHz mono) on top of opusscript (libopus compiled to WASM: no native build,
// no install script). Runs on a worker thread only (transcode/opus.worker.ts); never on the uWS event loop.
import OpusScript from 'opusscript';
import { APP_AUDIO_SAMPLE_RATE, APP_DOWN_FRAME_MS, APP_OPUS_BITRATE } from '../../../protocol/app-link.ts';

export const DOWN_FRAME_SAMPLES = (APP_AUDIO_SAMPLE_RATE * APP_DOWN_FRAME_MS) / 1000;

export function makeDecoder(): OpusScript {
  return new OpusScript(APP_AUDIO_SAMPLE_RATE, 1, OpusScript.Application.VOIP);
}

export function makeEncoder(): OpusScript {
  const encoder = new OpusScript(APP_AUDIO_SAMPLE_RATE, 1, OpusScript.Application.VOIP);
  encoder.setBitrate(APP_OPUS_BITRATE);
  return encoder;
}

/** Decodes one packet to pcm16 little-endian bytes (a copy: opusscript's result may view WASM memory). */
export function decodePacket(decoder: OpusScript, opus: Uint8Array): Uint8Array {
  const out = decoder.decode(Buffer.from(opus.buffer, opus.byteOffset, opus.byteLength));
  return new Uint8Array(out);
}

/** Encodes exactly `samples.length` samples (a valid Opus frame size) of pcm16. */
export function encodeFrame(encoder: OpusScript, samples: Int16Array): Uint8Array {
  const out = encoder.encode(Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength), samples.length);
  return new Uint8Array(out);
}
