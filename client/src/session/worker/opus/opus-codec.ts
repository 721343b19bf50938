// The Opus encoder and decoder the session worker uses on the earshot.v2 link, behind one small interface with
// two engines: WebCodecs (`AudioEncoder`/`AudioDecoder`, native, where the browser has Opus in workers) and
// libopus in WebAssembly (everywhere else, or when forced for tests/debugging). Both deliver results through
// callbacks in submission order; the WASM one calls back synchronously.
import { APP_AUDIO_SAMPLE_RATE, APP_OPUS_BITRATE } from '../../../../../protocol/app-link.ts';
import { floatToPcm16, pcm16ToFloat } from '../../../dsp/pcm16.ts';
import { WasmOpusModule } from './wasm-opus.ts';

export type OpusEngine = 'webcodecs' | 'wasm';

export interface OpusEncoderLike {
  readonly engine: OpusEngine;
  /** One whole up-frame (APP_UP_FRAME_MS) of 24 kHz mono audio captured at `captureMs`. */
  encode(pcm: Float32Array, captureMs: number): void;
  /** Resolves once every packet of the blocks handed in so far has been delivered. */
  flush(): Promise<void>;
  close(): void;
}

export interface OpusDecoderLike {
  readonly engine: OpusEngine;
  /** Each call produces exactly one `onPcm` callback, in order (empty on a decode error). */
  decode(packet: Uint8Array): void;
  close(): void;
}

export interface EncoderCallbacks {
  /** A packet and the capture time of its first sample. DTX packets (≤ 2 bytes: "nothing to send") included. */
  onPacket(packet: Uint8Array, captureMs: number): void;
  onError(err: unknown): void;
}

export interface DecoderCallbacks {
  onPcm(pcm: Float32Array): void;
  onError(err: unknown): void;
}

/** A packet of this size or less is Opus DTX saying "silence, nothing new": not worth a frame on the link. */
export const DTX_PACKET_MAX_BYTES = 2;

export interface OpusFactory {
  readonly engine: OpusEngine;
  createEncoder(callbacks: EncoderCallbacks): OpusEncoderLike;
  createDecoder(callbacks: DecoderCallbacks): OpusDecoderLike;
}

// ---- WASM --------------------------------------------------------------------------------------------------

/** `dtx: false` makes libopus behave as the WebCodecs encoder is configured (tests of the uplink's own gate). */
export function wasmOpusFactory(module: WasmOpusModule, options: { dtx: boolean } = { dtx: true }): OpusFactory {
  return {
    engine: 'wasm',
    createEncoder(cb) {
      const enc = module.createEncoder({ sampleRate: APP_AUDIO_SAMPLE_RATE, bitrate: APP_OPUS_BITRATE, dtx: options.dtx });
      return {
        engine: 'wasm',
        encode(pcm, captureMs) {
          try {
            cb.onPacket(enc.encode(floatToPcm16(pcm)), captureMs);
          } catch (err) {
            cb.onError(err);
          }
        },
        flush: async () => undefined,
        close: () => enc.free(),
      };
    },
    createDecoder(cb) {
      const dec = module.createDecoder({ sampleRate: APP_AUDIO_SAMPLE_RATE });
      return {
        engine: 'wasm',
        decode(packet) {
          let pcm: Float32Array;
          try {
            const out = dec.decode(packet);
            pcm = pcm16ToFloat(new Uint8Array(out.buffer, out.byteOffset, out.byteLength));
          } catch (err) {
            cb.onError(err);
            pcm = new Float32Array(0);
          }
          cb.onPcm(pcm);
        },
        close: () => dec.free(),
      };
    },
  };
}

// ---- WebCodecs -----------------------------------------------------------------------------------------------

const ENCODER_CONFIG = {
  codec: 'opus',
  sampleRate: APP_AUDIO_SAMPLE_RATE,
  numberOfChannels: 1,
  bitrate: APP_OPUS_BITRATE,
};
const DECODER_CONFIG = { codec: 'opus', sampleRate: APP_AUDIO_SAMPLE_RATE, numberOfChannels: 1 };

/** Whether this engine has WebCodecs Opus both ways (checked, not assumed: Safari has the classes without Opus). */
export async function webCodecsOpusSupported(): Promise<boolean> {
  const g = globalThis as { AudioEncoder?: typeof AudioEncoder; AudioDecoder?: typeof AudioDecoder };
  if (typeof g.AudioEncoder !== 'function' || typeof g.AudioDecoder !== 'function') return false;
  try {
    const [e, d] = await Promise.all([g.AudioEncoder.isConfigSupported(ENCODER_CONFIG), g.AudioDecoder.isConfigSupported(DECODER_CONFIG)]);
    return e.supported === true && d.supported === true;
  } catch {
    return false;
  }
}

export function webCodecsOpusFactory(upFrameMs: number): OpusFactory {
  return {
    engine: 'webcodecs',
    createEncoder(cb) {
      // Capture stamps of the blocks handed in and not yet answered, oldest first. Chromium's AudioEncoder stamps
      // its output by counting the packets it emits from the first input's timestamp, so `chunk.timestamp` is
      // wrong after any input gap (and, with `usedtx`, after every silence: DTX frames produce no chunk at all).
      // With DTX off it answers every block with exactly one chunk, in order, so the oldest pending stamp is the
      // chunk's own. Silence is kept off the link by the uplink's own gate instead (opus-uplink.ts).
      // (Chromium runs the encoder's look-ahead in front of the first block, so a flush yields one more packet:
      // the tail of the last block, stamped right after it.)
      const stamps: number[] = [];
      let lastStamp = 0;
      const encoder = new AudioEncoder({
        output: (chunk) => {
          const packet = new Uint8Array(chunk.byteLength);
          chunk.copyTo(packet);
          lastStamp = stamps.shift() ?? lastStamp + upFrameMs;
          cb.onPacket(packet, lastStamp);
        },
        error: (err) => cb.onError(err),
      });
      // In-band FEC and a packet-loss hint: a phone link loses packets. No `usedtx` (see `stamps`).
      encoder.configure({ ...ENCODER_CONFIG, opus: { frameDuration: upFrameMs * 1000, usedtx: false, useinbandfec: true, packetlossperc: 5 } } as AudioEncoderConfig);
      return {
        engine: 'webcodecs',
        flush: async () => {
          if (encoder.state === 'configured') await encoder.flush();
        },
        encode(pcm, captureMs) {
          if (encoder.state !== 'configured') return;
          const data = new AudioData({ format: 'f32', sampleRate: APP_AUDIO_SAMPLE_RATE, numberOfChannels: 1, numberOfFrames: pcm.length, timestamp: captureMs * 1000, data: pcm as Float32Array<ArrayBuffer> });
          try {
            encoder.encode(data);
            stamps.push(captureMs);
          } finally {
            data.close();
          }
        },
        close: () => {
          if (encoder.state !== 'closed') encoder.close();
        },
      };
    },
    createDecoder(cb) {
      let pending = 0;
      let timestamp = 0;
      let decoder = make();
      function make(): AudioDecoder {
        const d = new AudioDecoder({
          output: (data) => {
            pending = Math.max(0, pending - 1);
            const pcm = new Float32Array(data.numberOfFrames);
            data.copyTo(pcm, { planeIndex: 0, format: 'f32-planar' });
            data.close();
            cb.onPcm(pcm);
          },
          error: (err) => {
            // A failed decode closes a WebCodecs decoder: answer what was pending with nothing, then start again.
            cb.onError(err);
            for (; pending > 0; pending--) cb.onPcm(new Float32Array(0));
            decoder = make();
          },
        });
        d.configure(DECODER_CONFIG);
        return d;
      }
      return {
        engine: 'webcodecs',
        decode(packet) {
          pending++;
          const chunk = new EncodedAudioChunk({ type: 'key', timestamp: timestamp, data: packet });
          timestamp += 20_000;
          decoder.decode(chunk);
        },
        close: () => {
          if (decoder.state !== 'closed') decoder.close();
        },
      };
    },
  };
}

/**
 * Picks the engine: WebCodecs when present (and not forced off), the WASM build otherwise. `loadWasm` fetches the
 * wasm binary only when it is needed.
 */
export async function chooseOpus(prefer: 'auto' | 'wasm', upFrameMs: number, loadWasm: () => Promise<BufferSource>): Promise<OpusFactory> {
  if (prefer === 'auto' && (await webCodecsOpusSupported())) return webCodecsOpusFactory(upFrameMs);
  return wasmOpusFactory(await WasmOpusModule.load(await loadWasm()));
}
