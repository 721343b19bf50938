// Session worker: owns the relay WebSocket and every audio byte between the worklets and the socket
// (resampling, pcm16, base64). Controlled through Comlink (SessionWorkerApi); audio arrives and leaves on
// MessagePorts wired directly to the worklets. The main thread only receives compact EngineEvents.
import * as Comlink from 'comlink';
import type { CaptureToSession, PlaybackToSession } from '../../audio/messages.ts';
import type { SessionWorkerInit, SessionWorkerStats, SessionWorkerApi } from '../worker-api.ts';
import type { EngineEvent } from '../engine-api.ts';
import { PlaybackFeeder } from './playback-feeder.ts';
import { SessionRunner, type SocketLike } from './session-runner.ts';

let runner: SessionRunner | null = null;
let ports: MessagePort[] = [];
let framesReceived = 0;
let handlingMsTotal = 0;

const api: SessionWorkerApi = {
  init(init: SessionWorkerInit, onEvent: (event: EngineEvent) => void) {
    const emit = (event: EngineEvent) => {
      // A failed callback (page gone) must not kill the audio path.
      Promise.resolve(onEvent(event)).catch(() => undefined);
    };
    const feeder = new PlaybackFeeder(init.playback, init.contextRate);
    runner = new SessionRunner({
      fetch: (url, req) => fetch(url, { headers: req.headers, cache: 'no-store' }),
      openSocket: (url, protocols) => new WebSocket(url, protocols) as unknown as SocketLike,
      setTimeout: (fn, ms) => setTimeout(fn, ms),
      clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
      random: Math.random,
      now: () => performance.now(),
      wallNow: () => Date.now(),
      emit,
      playback: feeder,
      contextRate: init.contextRate,
    });
    const r = runner;
    init.capture.onmessage = (e: MessageEvent<CaptureToSession>) => {
      const t0 = performance.now();
      try {
        r.onCaptureFrame(e.data.samples, e.data.rms);
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
    ports = [init.capture, init.playback];
  },
  start(options) {
    runner?.start(options);
  },
  stop() {
    runner?.stop();
  },
  mute(muted) {
    runner?.setMuted(muted);
  },
  configure(settings) {
    runner?.configure(settings);
  },
  interrupt() {
    runner?.interrupt();
  },
  sendText(text) {
    runner?.sendText(text);
  },
  setTalking(down) {
    runner?.setTalking(down);
  },
  stats(): SessionWorkerStats {
    return {
      ...(runner?.stats ?? { appendsSent: 0, framesDropped: 0, reconnects: 0, sessions: 0 }),
      framesReceived,
      meanFrameHandlingMs: framesReceived > 0 ? handlingMsTotal / framesReceived : 0,
    };
  },
  dispose() {
    runner?.stop();
    runner = null;
    for (const port of ports) port.close();
    ports = [];
  },
};

Comlink.expose(api);
