// Audio lab: a test page built alongside the app (vite.config.ts input `audio-lab`) that exposes the engine and
// the playback worklet on `window.lab` for Chromium tests. It uses the production worklet/worker bundles.
import playbackWorkletUrl from '../audio/playback.worklet.ts?worker&url';
import tapWorkletUrl from './tap.worklet.ts?worker&url';
import type { SessionToPlayback, MainToPlayback, PlaybackToSession } from '../audio/messages.ts';
import { createEngine } from '../session/main/engine.ts';
import type { EngineEvent, EngineStartOptions } from '../session/engine-api.ts';
import { APP_AUDIO_SAMPLE_RATE, APP_UP_FRAME_MS } from '../../../protocol/app-link.ts';
import { webCodecsOpusFactory } from '../session/worker/opus/opus-codec.ts';

interface TapBatch {
  frame: number;
  samples: Float32Array;
}

/** A playback worklet driven directly (the lab plays the session worker's part) with a tap recording its output. */
async function playbackRig() {
  const ctx = new AudioContext({ latencyHint: 'interactive' });
  await Promise.all([ctx.audioWorklet.addModule(playbackWorkletUrl), ctx.audioWorklet.addModule(tapWorkletUrl), ctx.resume()]);
  const playback = new AudioWorkletNode(ctx, 'playback.worklet', { numberOfInputs: 0, numberOfOutputs: 1, outputChannelCount: [1] });
  const tap = new AudioWorkletNode(ctx, 'tap.worklet', { numberOfInputs: 1, numberOfOutputs: 0, channelCount: 1, channelCountMode: 'explicit' });
  playback.connect(tap);
  const channel = new MessageChannel();
  playback.port.postMessage({ kind: 'connect', session: channel.port1, waveform: null } satisfies MainToPlayback, [channel.port1]);
  const reports: PlaybackToSession[] = [];
  channel.port2.onmessage = (e: MessageEvent<PlaybackToSession>) => reports.push(e.data);
  const batches: TapBatch[] = [];
  tap.port.onmessage = (e: MessageEvent<TapBatch>) => batches.push(e.data);
  const send = (msg: SessionToPlayback) => channel.port2.postMessage(msg, msg.kind === 'chunk' ? [msg.samples.buffer] : []);
  return {
    sampleRate: ctx.sampleRate,
    send,
    reports,
    /** Output recorded so far from `sinceFrame`, as one array plus its first frame. */
    recorded(sinceFrame = 0): { frame: number; samples: number[] } {
      const kept = batches.filter((b) => b.frame + b.samples.length > sinceFrame);
      const first = kept[0]?.frame ?? sinceFrame;
      return { frame: first, samples: kept.flatMap((b) => Array.from(b.samples)) };
    },
    currentFrame: () => Math.round(ctx.currentTime * ctx.sampleRate),
    close: () => ctx.close(),
  };
}

/**
 * Feeds the session worker's WebCodecs Opus encoder one block per entry (a 300 Hz tone at `amplitude`, 0 = digital
 * silence) stamped `captureMs`, and returns what came out: each packet with the capture time the encoder wrapper
 * gave it. The question it answers: does every packet carry the stamp of the block it encodes?
 */
async function encodeBlocks(blocks: Array<{ captureMs: number; amplitude: number }>): Promise<Array<{ captureMs: number; bytes: number }>> {
  const out: Array<{ captureMs: number; bytes: number }> = [];
  let failure: unknown = null;
  const encoder = webCodecsOpusFactory(APP_UP_FRAME_MS).createEncoder({
    onPacket: (packet, captureMs) => out.push({ captureMs, bytes: packet.byteLength }),
    onError: (err) => (failure = err),
  });
  const n = (APP_AUDIO_SAMPLE_RATE * APP_UP_FRAME_MS) / 1000;
  for (const b of blocks) {
    const pcm = new Float32Array(n);
    for (let i = 0; i < n; i++) pcm[i] = b.amplitude * Math.sin((2 * Math.PI * 300 * (b.captureMs * 24 + i)) / APP_AUDIO_SAMPLE_RATE);
    encoder.encode(pcm, b.captureMs);
  }
  await encoder.flush();
  encoder.close();
  if (failure) throw failure;
  return out;
}

const events: EngineEvent[] = [];
let engine: ReturnType<typeof createEngine> | null = null;

const lab = {
  events,
  async startEngine(options: Omit<EngineStartOptions, 'canvas'> & { withCanvas?: boolean; sampleRate?: number }) {
    engine = createEngine(options.sampleRate ? { sampleRate: options.sampleRate } : {});
    engine.subscribe((e) => events.push(e));
    const canvas = options.withCanvas ? (document.getElementById('wave') as HTMLCanvasElement) : undefined;
    await engine.start({ relayUrl: options.relayUrl, token: options.token, settings: options.settings, ...(canvas ? { canvas } : {}) });
  },
  engine: () => engine,
  async stopEngine() {
    await engine?.stop();
  },
  playbackRig,
  encodeBlocks,
  rig: null as Awaited<ReturnType<typeof playbackRig>> | null,
};

declare global {
  interface Window {
    lab: typeof lab;
  }
}
window.lab = lab;
document.body.dataset.ready = 'true';
