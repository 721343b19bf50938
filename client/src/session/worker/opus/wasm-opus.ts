// libopus in WebAssembly (the `@evan/opus` package's wasm build: libopus compiled with emscripten, no JS glue
// needed beyond the five stub imports below), for engines without WebCodecs Opus. A thin typed shell: one module
// instance per worker, encoders and decoders allocated in its heap. Synchronous — a 40 ms packet encodes in
// well under a millisecond — so callers get their packet back at once.
// Runs in the session worker (browser) and in Node tests; the caller passes the wasm bytes in.

interface OpusExports {
  memory: WebAssembly.Memory;
  malloc(size: number): number;
  free(ptr: number): void;
  opus_encoder_get_size(channels: number): number;
  opus_encoder_init(ptr: number, rate: number, channels: number, application: number): number;
  opus_encode(ptr: number, pcm: number, frameSize: number, out: number, maxBytes: number): number;
  opus_encoder_ctl_set(ptr: number, cmd: number, arg: number): number;
  opus_decoder_get_size(channels: number): number;
  opus_decoder_init(ptr: number, rate: number, channels: number): number;
  opus_decode(ptr: number, data: number, len: number, pcm: number, frameSize: number, fec: number): number;
  opus_decoder_ctl_set(ptr: number, cmd: number, arg: number): number;
  _initialize?(): void;
}

/** libopus CTL requests and constants (opus_defines.h). */
export const OPUS = {
  APPLICATION_VOIP: 2048,
  SET_BITRATE: 4002,
  SET_COMPLEXITY: 4010,
  SET_INBAND_FEC: 4012,
  SET_PACKET_LOSS_PERC: 4014,
  SET_DTX: 4016,
  SET_SIGNAL: 4024,
  SIGNAL_VOICE: 3001,
  RESET_STATE: 4028,
} as const;

/** Largest packet we ask libopus for; a 60 ms mono packet at 24 kbit/s is ~180 B. */
const MAX_PACKET_BYTES = 4000;
/** 120 ms at 48 kHz: the longest Opus frame, so any packet decodes into this buffer. */
const MAX_FRAME_SAMPLES = 5760;

export class WasmOpusModule {
  private readonly wasm: OpusExports;
  private readonly packetPtr: number;
  private readonly pcmPtr: number;

  private constructor(wasm: OpusExports) {
    this.wasm = wasm;
    wasm._initialize?.();
    this.packetPtr = wasm.malloc(MAX_PACKET_BYTES);
    this.pcmPtr = wasm.malloc(MAX_FRAME_SAMPLES * 2);
  }

  static async load(bytes: BufferSource): Promise<WasmOpusModule> {
    const { instance } = await WebAssembly.instantiate(bytes, {
      // libopus never writes to files; these satisfy emscripten's standalone imports.
      wasi_snapshot_preview1: { fd_seek: () => 0, fd_write: () => 0, fd_close: () => 0, proc_exit: () => undefined },
      env: { emscripten_notify_memory_growth: () => undefined },
    });
    return new WasmOpusModule(instance.exports as unknown as OpusExports);
  }

  /** Heap views are taken per call: a memory growth detaches earlier ones. */
  private bytes(): Uint8Array {
    return new Uint8Array(this.wasm.memory.buffer);
  }

  private check(code: number, what: string): number {
    if (code < 0) throw new Error(`opus ${what} failed (${code})`);
    return code;
  }

  createEncoder(options: { sampleRate: number; bitrate: number; dtx: boolean }): WasmOpusEncoder {
    const ptr = this.wasm.malloc(this.wasm.opus_encoder_get_size(1));
    this.check(this.wasm.opus_encoder_init(ptr, options.sampleRate, 1, OPUS.APPLICATION_VOIP), 'encoder init');
    const set = (cmd: number, arg: number) => this.check(this.wasm.opus_encoder_ctl_set(ptr, cmd, arg), `ctl ${cmd}`);
    set(OPUS.SET_BITRATE, options.bitrate);
    set(OPUS.SET_SIGNAL, OPUS.SIGNAL_VOICE);
    set(OPUS.SET_DTX, options.dtx ? 1 : 0);
    set(OPUS.SET_INBAND_FEC, 1);
    set(OPUS.SET_PACKET_LOSS_PERC, 5);
    return {
      encode: (pcm16le: Uint8Array) => {
        if (pcm16le.byteLength > MAX_FRAME_SAMPLES * 2) throw new Error('opus frame too long');
        this.bytes().set(pcm16le, this.pcmPtr);
        const n = this.check(this.wasm.opus_encode(ptr, this.pcmPtr, pcm16le.byteLength >> 1, this.packetPtr, MAX_PACKET_BYTES), 'encode');
        return this.bytes().slice(this.packetPtr, this.packetPtr + n);
      },
      free: () => this.wasm.free(ptr),
    };
  }

  createDecoder(options: { sampleRate: number }): WasmOpusDecoder {
    const ptr = this.wasm.malloc(this.wasm.opus_decoder_get_size(1));
    this.check(this.wasm.opus_decoder_init(ptr, options.sampleRate, 1), 'decoder init');
    return {
      decode: (packet: Uint8Array) => {
        if (packet.byteLength > MAX_PACKET_BYTES) throw new Error('opus packet too large');
        this.bytes().set(packet, this.packetPtr);
        const samples = this.check(this.wasm.opus_decode(ptr, this.packetPtr, packet.byteLength, this.pcmPtr, MAX_FRAME_SAMPLES, 0), 'decode');
        const out = new Int16Array(samples);
        out.set(new Int16Array(this.wasm.memory.buffer, this.pcmPtr, samples));
        return out;
      },
      reset: () => void this.wasm.opus_decoder_ctl_set(ptr, OPUS.RESET_STATE, 0),
      free: () => this.wasm.free(ptr),
    };
  }
}

export interface WasmOpusEncoder {
  /** One whole frame (2.5–60 ms) of mono pcm16 little-endian in, one packet out. */
  encode(pcm16le: Uint8Array): Uint8Array;
  free(): void;
}

export interface WasmOpusDecoder {
  decode(packet: Uint8Array): Int16Array;
  reset(): void;
  free(): void;
}
