// Session worker: owns the relay WebSocket, the conversation and every audio byte between the worklets and the
// socket (resampling, Opus or pcm16/base64). Controlled through Comlink (SessionWorkerApi); audio arrives and leaves
// on MessagePorts wired directly to the worklets. The main thread only receives compact EngineEvents.
import * as Comlink from 'comlink';
import opusWasmUrl from '@evan/opus/wasm/opus.wasm?url';
import { APP_UP_FRAME_MS } from '../../../../protocol/app-link.ts';
import type { CaptureToSession, PlaybackToSession } from '../../audio/messages.ts';
import type { EngineEvent } from '../engine-api.ts';
import type { SessionWorkerInit, SessionWorkerStats, SessionWorkerApi } from '../worker-api.ts';
import { chooseOpus, type OpusFactory } from './opus/opus-codec.ts';
import { PlaybackFeeder } from './playback-feeder.ts';
import { SessionRunner, type SocketLike } from './session-runner.ts';

let runner: SessionRunner | null = null;
let pending: { init: SessionWorkerInit; emit: (event: EngineEvent) => void } | null = null;
let ports: MessagePort[] = [];
let framesReceived = 0;
let handlingMsTotal = 0;
const opusByPreference = new Map<string, Promise<OpusFactory>>();

function loadOpus(prefer: 'auto' | 'wasm'): Promise<OpusFactory> {
  let factory = opusByPreference.get(prefer);
  if (!factory) {
    // Fetched as bytes (not instantiateStreaming), so a server that labels .wasm wrongly still works.
    factory = chooseOpus(prefer, APP_UP_FRAME_MS, async () => (await fetch(opusWasmUrl)).arrayBuffer());
    opusByPreference.set(prefer, factory);
  }
  return factory;
}

function makeRunner(init: SessionWorkerInit, emit: (event: EngineEvent) => void, opus: OpusFactory | null): SessionRunner {
  const feeder = new PlaybackFeeder(init.playback, init.contextRate);
  const r = new SessionRunner({
    fetch: (url, req) => fetch(url, { headers: req.headers, cache: 'no-store', ...(req.signal ? { signal: req.signal } : {}) }),
    openSocket: (url, protocols) => new WebSocket(url, protocols) as unknown as SocketLike,
    setTimeout: (fn, ms) => setTimeout(fn, ms),
    clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
    random: Math.random,
    now: () => performance.now(),
    wallNow: () => Date.now(),
    emit,
    playback: feeder,
    contextRate: init.contextRate,
    opus,
  });
  init.capture.onmessage = (e: MessageEvent<CaptureToSession>) => {
    const t0 = performance.now();
    try {
      r.onCaptureFrame(e.data.samples, e.data.rms, e.data.index);
    } catch (err) {
      console.error('[session] capture frame', err);
    }
    framesReceived++;
    handlingMsTotal += performance.now() - t0;
  };
  init.playback.onmessage = (e: MessageEvent<PlaybackToSession>) => {
    try {
      r.onPlaybackReport(e.data);
    } catch (err) {
      console.error('[session] playback report', err);
    }
  };
  return r;
}

// The network came back or went away: reconnect at once, or stop trusting the socket.
self.addEventListener('online', () => runner?.networkChanged(true));
self.addEventListener('offline', () => runner?.networkChanged(false));

const api: SessionWorkerApi = {
  init(init, onEvent) {
    const emit = (event: EngineEvent) => {
      // A failed callback (page gone) must not kill the audio path.
      Promise.resolve(onEvent(event)).catch(() => undefined);
    };
    pending = { init, emit };
    ports = [init.capture, init.playback];
  },
  async start(options) {
    if (!pending) return;
    runner?.stop();
    let opus: OpusFactory | null = null;
    if (options.settings.link !== 'v1') {
      try {
        opus = await loadOpus(options.settings.opus ?? 'auto');
      } catch (err) {
        // No Opus at all (no WebCodecs, the wasm could not load): the verbatim link still works.
        console.error('[session] no Opus engine, using the v1 link', err);
      }
    }
    runner = makeRunner(pending.init, pending.emit, opus);
    runner.start(options);
  },
  stop() {
    runner?.stop();
  },
  configure(settings) {
    runner?.configure(settings);
  },
  interrupt() {
    runner?.interrupt();
  },
  endTurn() {
    runner?.endTurn();
  },
  resumeListening() {
    runner?.resumeListening();
  },
  sendText(text) {
    runner?.sendText(text);
  },
  setTalking(down) {
    runner?.setTalking(down);
  },
  stats(): SessionWorkerStats {
    const base: SessionWorkerStats = runner?.stats ?? {
      appendsSent: 0, framesDropped: 0, reconnects: 0, sessions: 0, resumes: 0, framesReceived: 0, meanFrameHandlingMs: 0,
      link: 'v2', opus: null, dtxSkipped: 0, upBlocks: 0, upPackets: 0, upUnmatched: 0, bytesSent: 0, bytesReceived: 0, received: 0, underruns: 0,
    };
    return { ...base, framesReceived, meanFrameHandlingMs: framesReceived > 0 ? handlingMsTotal / framesReceived : 0 };
  },
  takeGuardTrace() {
    return runner?.takeGuardTrace() ?? [];
  },
  dispose() {
    runner?.stop();
    runner = null;
    for (const port of ports) port.close();
    ports = [];
  },
};

Comlink.expose(api);
