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

export function wasmOpusFactory(module: WasmOpusModule): OpusFactory {
  return {
    engine: 'wasm',
    createEncoder(cb) {
      const enc = module.createEncoder({ sampleRate: APP_AUDIO_SAMPLE_RATE, bitrate: APP_OPUS_BITRATE, dtx: true });
      return {
        engine: 'wasm',
        encode(pcm, captureMs) {
          try {
            cb.onPacket(enc.encode(floatToPcm16(pcm)), captureMs);
          } catch (err) {
            cb.onError(err);
          }
        },
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
      const encoder = new AudioEncoder({
        output: (chunk) => {
          const packet = new Uint8Array(chunk.byteLength);
          chunk.copyTo(packet);
          cb.onPacket(packet, Math.round(chunk.timestamp / 1000));
        },
        error: (err) => cb.onError(err),
      });
      // DTX, in-band FEC and a packet-loss hint: a phone link loses packets and spends most of its time in silence.
      encoder.configure({ ...ENCODER_CONFIG, opus: { frameDuration: upFrameMs * 1000, usedtx: true, useinbandfec: true, packetlossperc: 5 } } as AudioEncoderConfig);
      return {
        engine: 'webcodecs',
        encode(pcm, captureMs) {
          if (encoder.state !== 'configured') return;
          const data = new AudioData({ format: 'f32', sampleRate: APP_AUDIO_SAMPLE_RATE, numberOfChannels: 1, numberOfFrames: pcm.length, timestamp: captureMs * 1000, data: pcm as Float32Array<ArrayBuffer> });
          try {
            encoder.encode(data);
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
