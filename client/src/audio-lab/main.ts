// Audio lab: a test page built alongside the app (vite.config.ts input `audio-lab`) that exposes the engine and
// the playback worklet on `window.lab` for Chromium tests. It uses the production worklet/worker bundles.
import playbackWorkletUrl from '../audio/playback.worklet.ts?worker&url';
import tapWorkletUrl from './tap.worklet.ts?worker&url';
import type { SessionToPlayback, MainToPlayback, PlaybackToSession } from '../audio/messages.ts';
import { createEngine } from '../session/main/engine.ts';
import type { EngineEvent, EngineStartOptions } from '../session/engine-api.ts';

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
  rig: null as Awaited<ReturnType<typeof playbackRig>> | null,
};

declare global {
  interface Window {
    lab: typeof lab;
  }
}
window.lab = lab;
document.body.dataset.ready = 'true';
