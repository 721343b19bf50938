// Main-thread engine: wires the AudioContext, microphone, worklets, session worker, waveform worker and the
// echo-cancel loopback, then gets out of the way. No audio sample or socket byte passes through this thread.
// createEngine() is what the UI calls (see engine-api.ts for the contract).
import * as Comlink from 'comlink';
import captureWorkletUrl from '../../audio/capture.worklet.ts?worker&url';
import playbackWorkletUrl from '../../audio/playback.worklet.ts?worker&url';
import { makeLoopback, type Loopback } from '../../audio/loopback.ts';
import type { MainToCapture, MainToPlayback, MainToWaveform, WaveTheme, WorkletToMain } from '../../audio/messages.ts';
import { makeMainThreadWaveform, type WaveformView } from '../../waveform/main-thread-waveform.ts';
import { DEFAULT_THEME } from '../../waveform/wave-history.ts';
import type { SessionWorkerApi } from '../worker-api.ts';
import type { Engine, EngineDebugStats, EngineError, EngineEvent, EngineSettings, EngineStartOptions, GuardTraceFrame } from '../engine-api.ts';
import { micError } from '../errors.ts';
import { resumeOrWaitForTap, StartAborted, StartAttempt, STEP_TIMEOUT_MS } from './start-attempt.ts';
import { makeEngineLifecycle } from './engine-lifecycle.ts';
import { setAudioSessionType } from '../../app/ios-audio.ts';

/** What a failed Start tells the person. */
function startError(err: unknown): EngineError {
  if (err instanceof EngineError_) return err.error;
  if (err instanceof StartAborted && err.abort.kind === 'timeout') {
    switch (err.abort.step) {
      case 'microphone':
        return { reason: 'mic_missing', message: 'The microphone did not start. Close other apps that use it, check that one is connected, then tap Start again.', fatal: true };
      case 'worklet':
      case 'resume':
      case 'loopback':
        return { reason: 'audio_failed', message: 'The browser did not start its audio engine. Tap Start again; if it keeps failing, reload the page.', fatal: true };
      case 'session':
        return { reason: 'audio_failed', message: 'The app’s background worker did not start. Reload the page and tap Start again.', fatal: true };
    }
  }
  return { reason: 'audio_failed', message: `Audio could not start: ${String((err as Error)?.message ?? err)}`, fatal: true };
}

export interface EngineOptions {
  /** Route playback through the WebRTC loopback so the browser's echo canceller sees it (default true). */
  echoLoopback?: boolean;
  /** The barge-in guard in the session worker (default true); see EngineSettings.bargeInGuard. */
  bargeInGuard?: boolean;
  /** The acoustic bench only: the session worker keeps a per-frame guard trace (EngineSettings.guardTrace). */
  guardTrace?: boolean;
  waveTheme?: WaveTheme;
  /**
   * Tests only: force the AudioContext rate (e.g. 44100) to exercise another capture/playback resampling path.
   * The app must leave this unset: the context runs at the device's native rate (Firefox rejects a mic source at
   * another rate, and iOS ignores the request).
   */
  sampleRate?: number;
}

interface Graph {
  ctx: AudioContext;
  stream: MediaStream;
  source: MediaStreamAudioSourceNode;
  capture: AudioWorkletNode;
  playback: AudioWorkletNode;
  destination: MediaStreamAudioDestinationNode | null;
  loopback: Loopback | null;
  worker: Worker;
  session: Comlink.Remote<SessionWorkerApi>;
  waveWorker: Worker | null;
  waveView: WaveformView | null;
  resizeObserver: ResizeObserver | null;
  cleanups: Array<() => void>;
}

function micConstraints(settings: EngineSettings): MediaStreamConstraints {
  return {
    audio: {
      ...(settings.deviceId ? { deviceId: { exact: settings.deviceId } } : {}),
      channelCount: 1,
      echoCancellation: settings.echoCancellation,
      noiseSuppression: settings.noiseSuppression,
      autoGainControl: settings.autoGainControl,
    },
    video: false,
  };
}

class EngineError_ extends Error {
  constructor(readonly error: EngineError) {
    super(error.message);
  }
}

async function getMic(settings: EngineSettings): Promise<MediaStream> {
  if (!navigator.mediaDevices?.getUserMedia) {
    throw new EngineError_({ reason: 'audio_failed', message: 'This browser cannot record audio here. Open the app over https in a current browser.', fatal: true });
  }
  try {
    return await navigator.mediaDevices.getUserMedia(micConstraints(settings));
  } catch (err) {
    // A chosen device that vanished: fall back to the default microphone rather than fail.
    if (settings.deviceId && (err as DOMException).name === 'OverconstrainedError') {
      return getMic({ ...settings, deviceId: undefined });
    }
    throw new EngineError_(micError((err as DOMException).name ?? 'Error', navigator.userAgent));
  }
}

/**
 * A canvas can be transferred to a worker only once, so its waveform worker outlives a single start/stop (and a
 * single engine): module-level, keyed by the element.
 */
const waveWorkers = new WeakMap<HTMLCanvasElement, Worker>();

export function createEngine(engineOptions: EngineOptions = {}): Engine & Required<Pick<Engine, 'debugStats' | 'debugGuardTrace'>> {
  const listeners = new Set<(event: EngineEvent) => void>();
  let settings: EngineSettings | null = null;
  /** Start is waiting for a tap to resume this context (set while the "Tap to resume" button shows). */
  let tapWaiter: { ctx: AudioContext; resolve: () => void } | null = null;

  // State ownership: engine-lifecycle.ts announces `connecting`, `error` and `idle`; everything in between (link and
  // conversation) comes from the session worker, its one owner, through the lifecycle's gate.
  const emit = (event: EngineEvent) => {
    for (const listener of listeners) {
      try {
        listener(event);
      } catch (err) {
        console.error('[engine] listener failed', err);
      }
    }
  };

  // A headset in or out (devicechange), or the track ended: a new microphone under the same session — the socket,
  // the worklets and the conversation stay; only the source node is replaced. Playback needs nothing here: it goes
  // to the system's default output, and every engine tested moves a default-device stream when the default
  // changes (hands-free-engines.e2e.test.ts watches it move in PulseAudio).
  async function swapMic(g: Graph, next: EngineSettings): Promise<void> {
    const stream = await getMic(next);
    if (lifecycle.graph !== g) {
      // Stopped while the new microphone was opening.
      for (const track of stream.getTracks()) track.stop();
      return;
    }
    const source = g.ctx.createMediaStreamSource(stream);
    g.source.disconnect();
    for (const track of g.stream.getTracks()) {
      track.onended = track.onmute = track.onunmute = null;
      track.stop();
    }
    source.connect(g.capture);
    g.stream = stream;
    g.source = source;
    watchTrack(g);
    emit({ kind: 'mic', live: true });
  }

  function watchTrack(g: Graph): void {
    const track = g.stream.getAudioTracks()[0];
    if (!track) return;
    // The system took the microphone (iOS in the background, a call) or gave it back: Conversation decides.
    track.onmute = () => lifecycle.graph === g && emit({ kind: 'mic', live: false });
    track.onunmute = () => lifecycle.graph === g && emit({ kind: 'mic', live: true });
    // Headset unplugged / device revoked: re-acquire the default (or chosen) mic without touching the session.
    track.onended = () => {
      if (lifecycle.graph !== g) return;
      emit({ kind: 'mic', live: false });
      if (settings) swapMic(g, settings).catch((err) => reportMicError(err));
    };
  }

  function reportMicError(err: unknown): void {
    const error = err instanceof EngineError_ ? err.error : micError('Error');
    emit({ kind: 'notice', error: { ...error, fatal: false } });
  }

  async function build(options: EngineStartOptions, attempt: StartAttempt, sessionEmit: (event: EngineEvent) => void): Promise<Graph> {
    const cleanups: Array<() => void> = [];
    let released = false;
    // iOS: declare a call-like session before the mic starts, so output stays on the speaker (not the earpiece).
    setAudioSessionType(navigator, 'play-and-record');
    const ctx = new AudioContext({ latencyHint: 'interactive', ...(engineOptions.sampleRate ? { sampleRate: engineOptions.sampleRate } : {}) });
    cleanups.push(() => void ctx.close().catch(() => undefined));
    try {
      // Worklets load while the microphone starts; getUserMedia comes before resume() (iOS keeps output on the
      // speaker only in that order). Each step has a deadline, and Stop ends them all (start-attempt.ts).
      const worklets = attempt.step('worklet', Promise.all([ctx.audioWorklet.addModule(captureWorkletUrl), ctx.audioWorklet.addModule(playbackWorkletUrl)]));
      worklets.catch(() => undefined);
      const mic = getMic(options.settings);
      // A stream that arrives after Stop or a deadline must still be released.
      mic.then(
        (s) => (released ? s.getTracks().forEach((t) => t.stop()) : cleanups.push(() => s.getTracks().forEach((t) => t.stop()))),
        () => undefined,
      );
      const stream = await attempt.step('microphone', mic);
      await worklets;
      try {
        await resumeOrWaitForTap(attempt, ctx, {
          blocked: () => emit({ kind: 'audio', blocked: true }),
          waitForTap: () => new Promise<void>((resolve) => (tapWaiter = { ctx, resolve })),
        });
      } finally {
        tapWaiter = null;
      }
      const source = ctx.createMediaStreamSource(stream);
      const capture = new AudioWorkletNode(ctx, 'capture.worklet', { numberOfInputs: 1, numberOfOutputs: 0, channelCount: 1, channelCountMode: 'explicit' });
      const playback = new AudioWorkletNode(ctx, 'playback.worklet', { numberOfInputs: 0, numberOfOutputs: 1, outputChannelCount: [1] });
      for (const node of [capture, playback]) {
        node.onprocessorerror = () => emit({ kind: 'notice', error: { reason: 'audio_failed', message: 'The audio engine hit an error. Stop and start the conversation again.', fatal: false } });
        node.port.onmessage = (e: MessageEvent<WorkletToMain>) => console.error(`[engine] ${e.data.where}: ${e.data.message}`);
      }
      source.connect(capture);

      let destination: MediaStreamAudioDestinationNode | null = null;
      let loopback: Loopback | null = null;
      if (engineOptions.echoLoopback !== false && typeof RTCPeerConnection === 'function') {
        destination = ctx.createMediaStreamDestination();
        playback.connect(destination);
        // Under the attempt like every browser await: Stop closes the half-made loopback, and one that takes too
        // long is given up (playing directly), and closed should it connect after all.
        let abandoned = false;
        const making = makeLoopback(destination.stream, { signal: attempt.signal });
        making.then((made) => abandoned && made.close(), () => undefined);
        try {
          loopback = await attempt.step('loopback', making);
          cleanups.push(() => loopback?.close());
        } catch (err) {
          abandoned = true;
          if (err instanceof StartAborted && err.abort.kind === 'cancelled') throw err;
          console.warn('[engine] echo loopback unavailable, playing directly', err);
          playback.disconnect();
          destination = null;
        }
      }
      if (!loopback) playback.connect(ctx.destination);

      // Data paths: worklet <-> session worker, worklets -> waveform drawer. The main thread keeps none of these ports.
      const captureToCodec = new MessageChannel();
      const playbackToCodec = new MessageChannel();
      const captureWave = options.canvas ? new MessageChannel() : null;
      const playbackWave = options.canvas ? new MessageChannel() : null;

      const worker = new Worker(new URL('../worker/session.worker.ts', import.meta.url), { type: 'module', name: 'session' });
      cleanups.push(() => worker.terminate());
      const session = Comlink.wrap<SessionWorkerApi>(worker);
      await attempt.step('session', session.init(
        Comlink.transfer({ contextRate: ctx.sampleRate, capture: captureToCodec.port2, playback: playbackToCodec.port2 }, [captureToCodec.port2, playbackToCodec.port2]),
        Comlink.proxy((event: EngineEvent) => sessionEmit(event)),
      ));
      const connectCapture: MainToCapture = { kind: 'connect', session: captureToCodec.port1, waveform: captureWave?.port1 ?? null };
      capture.port.postMessage(connectCapture, [captureToCodec.port1, ...(captureWave ? [captureWave.port1] : [])]);
      const connectPlayback: MainToPlayback = { kind: 'connect', session: playbackToCodec.port1, waveform: playbackWave?.port1 ?? null };
      playback.port.postMessage(connectPlayback, [playbackToCodec.port1, ...(playbackWave ? [playbackWave.port1] : [])]);

      let waveWorker: Worker | null = null;
      let waveView: WaveformView | null = null;
      let resizeObserver: ResizeObserver | null = null;
      const canvas = options.canvas;
      if (canvas && captureWave && playbackWave) {
        const rect = () => ({ width: canvas.clientWidth || canvas.width || 300, height: canvas.clientHeight || canvas.height || 80, dpr: globalThis.devicePixelRatio || 1 });
        const known = waveWorkers.get(canvas);
        if (known) {
          // This canvas was transferred on an earlier start: hand its worker the new ports.
          waveWorker = known;
          known.postMessage({ kind: 'attach', input: captureWave.port2, output: playbackWave.port2 } satisfies MainToWaveform, [captureWave.port2, playbackWave.port2]);
          known.postMessage({ kind: 'resize', ...rect() } satisfies MainToWaveform);
        } else if (typeof canvas.transferControlToOffscreen === 'function') {
          waveWorker = new Worker(new URL('../../waveform/waveform.worker.ts', import.meta.url), { type: 'module', name: 'waveform' });
          const w = waveWorker;
          waveWorkers.set(canvas, w);
          const offscreen = canvas.transferControlToOffscreen();
          const init: MainToWaveform = { kind: 'init', canvas: offscreen, input: captureWave.port2, output: playbackWave.port2, ...rect(), theme: engineOptions.waveTheme ?? DEFAULT_THEME };
          w.postMessage(init, [offscreen, captureWave.port2, playbackWave.port2]);
        }
        if (waveWorker) {
          const w = waveWorker;
          if (typeof ResizeObserver === 'function') {
            resizeObserver = new ResizeObserver(() => w.postMessage({ kind: 'resize', ...rect() } satisfies MainToWaveform));
            resizeObserver.observe(canvas);
          }
        } else {
          const view = makeMainThreadWaveform(canvas, captureWave.port2, playbackWave.port2);
          waveView = view;
          const r = rect();
          view.resize(r.width, r.height, r.dpr);
          if (typeof ResizeObserver === 'function') {
            resizeObserver = new ResizeObserver(() => {
              const s = rect();
              view.resize(s.width, s.height, s.dpr);
            });
            resizeObserver.observe(canvas);
          }
        }
      }

      const g: Graph = { ctx, stream, source, capture, playback, destination, loopback, worker, session, waveWorker, waveView, resizeObserver, cleanups };
      watchTrack(g);

      // Suspended or interrupted mid-conversation (an iOS call, the autoplay policy): say so and resume on the next
      // tap. Never resume from visibilitychange or a timer: that is not a gesture, and iOS refuses it.
      const resume = () => {
        if (lifecycle.graph === g && ctx.state !== 'running' && ctx.state !== 'closed') void ctx.resume().catch(() => undefined);
      };
      let blocked = false;
      ctx.onstatechange = () => {
        if (lifecycle.graph !== g) return;
        const nowBlocked = ctx.state !== 'running' && ctx.state !== 'closed';
        if (nowBlocked !== blocked) emit({ kind: 'audio', blocked: (blocked = nowBlocked) });
      };
      const onDeviceChange = () => {
        if (lifecycle.graph === g && settings && !settings.deviceId) swapMic(g, settings).catch((err) => reportMicError(err));
      };
      document.addEventListener('pointerdown', resume, true);
      document.addEventListener('keydown', resume, true);
      navigator.mediaDevices.addEventListener?.('devicechange', onDeviceChange);
      cleanups.push(() => {
        document.removeEventListener('pointerdown', resume, true);
        document.removeEventListener('keydown', resume, true);
        navigator.mediaDevices.removeEventListener?.('devicechange', onDeviceChange);
        ctx.onstatechange = null;
      });
      return g;
    } catch (err) {
      released = true;
      for (const cleanup of cleanups.reverse()) cleanup();
      throw err;
    }
  }

  async function teardown(g: Graph): Promise<void> {
    try {
      // dispose() closes the socket with 1000 (the relay ends the provider session at once); a worker terminated
      // before it ran aborts the socket instead, which the relay takes for a dropped link and keeps for the resume
      // grace period. A busy phone can take a while to run it: wait up to 2 s before giving up on it.
      await Promise.race([g.session.dispose(), new Promise((r) => setTimeout(r, 2000))]);
    } catch {
      // worker already gone
    }
    g.session[Comlink.releaseProxy]();
    g.capture.port.postMessage({ kind: 'close' } satisfies MainToCapture);
    g.playback.port.postMessage({ kind: 'close' } satisfies MainToPlayback);
    // The waveform worker keeps its (transferred) canvas for the next start; only the ports go.
    g.waveWorker?.postMessage({ kind: 'detach' } satisfies MainToWaveform);
    g.waveView?.close();
    g.resizeObserver?.disconnect();
    g.source.disconnect();
    g.capture.disconnect();
    g.playback.disconnect();
    g.capture.port.close();
    g.playback.port.close();
    for (const track of g.stream.getTracks()) track.stop();
    for (const cleanup of g.cleanups.reverse()) cleanup();
  }

  const lifecycle = makeEngineLifecycle<EngineStartOptions, Graph>({
    newAttempt: () => new StartAttempt(globalThis),
    build,
    startSession: (g, options, attempt) => attempt.step('session', g.session.start({ relayUrl: options.relayUrl, token: options.token, settings: { ...options.settings, ...(engineOptions.bargeInGuard === false ? { bargeInGuard: false } : {}), ...(engineOptions.guardTrace ? { guardTrace: true } : {}) } })),
    teardown,
    startError,
    emit,
  });

  const engine: Engine & Required<Pick<Engine, 'debugStats' | 'debugGuardTrace'>> = {
    async start(options) {
      settings = { ...options.settings };
      await lifecycle.start(options);
    },
    // Stop always works: a pending Start is cancelled (every browser await in it ends now), not awaited.
    stop: () => lifecycle.stop(),
    resumeAudio() {
      // Runs inside the tap's handler: resume() must be called synchronously here for the gesture to count.
      const waiter = tapWaiter;
      const ctx = waiter?.ctx ?? lifecycle.graph?.ctx;
      if (!ctx || ctx.state === 'closed') return;
      const resumed = ctx.resume();
      if (waiter) {
        const release = () => waiter.resolve();
        resumed.then(release, release);
        setTimeout(release, STEP_TIMEOUT_MS.resume);
      } else resumed.catch(() => undefined);
    },
    setMuted(muted) {
      const graph = lifecycle.graph;
      if (!graph) return;
      // The capture worklet is the one owner of mute: no frame leaves the audio thread while muted.
      graph.capture.port.postMessage({ kind: 'mute', muted } satisfies MainToCapture);
      emit({ kind: 'muted', muted });
    },
    interrupt() {
      void lifecycle.graph?.session.interrupt();
    },
    endTurn() {
      void lifecycle.graph?.session.endTurn();
    },
    resumeListening() {
      void lifecycle.graph?.session.resumeListening();
    },
    setTalking(down) {
      void lifecycle.graph?.session.setTalking(down);
    },
    sendText(text) {
      void lifecycle.graph?.session.sendText(text);
    },
    async updateSettings(patch) {
      if (!settings) return;
      const prev = settings;
      settings = { ...settings, ...patch };
      const g = lifecycle.graph;
      if (!g) return;
      const micChanged =
        prev.deviceId !== settings.deviceId ||
        prev.echoCancellation !== settings.echoCancellation ||
        prev.noiseSuppression !== settings.noiseSuppression ||
        prev.autoGainControl !== settings.autoGainControl;
      if (micChanged) await swapMic(g, settings).catch((err) => reportMicError(err));
      await g.session.configure(patch);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async debugGuardTrace(): Promise<GuardTraceFrame[]> {
      return lifecycle.graph ? await lifecycle.graph.session.takeGuardTrace() : [];
    },
    async debugStats(): Promise<EngineDebugStats> {
      const g = lifecycle.graph;
      if (!g) return { context: null, output: 'none', loopback: null, session: null, waveform: 'none' };
      return {
        context: { sampleRate: g.ctx.sampleRate, state: g.ctx.state, baseLatency: g.ctx.baseLatency ?? 0, outputLatency: g.ctx.outputLatency ?? 0 },
        output: g.loopback ? 'webrtc-loopback' : 'direct',
        loopback: g.loopback ? await g.loopback.stats() : null,
        session: await g.session.stats(),
        waveform: g.waveWorker ? 'offscreen-worker' : g.waveView ? 'main-thread' : 'none',
      };
    },
  };
  return engine;
}
