// The acoustic bench's rig, shared by the CI test (speakerphone.e2e.test.ts) and the sweep (bench/echo.ts): the
// production build behind the real relay and simulator, real Chromium capturing from the private PulseAudio with
// its echo canceller, noise suppressor and gain control on, and the software speakerphone (speakerphone.ts)
// feeding the browser's output back into its microphone. The simulator answers a spoken turn by playing the
// user's words back pitch-shifted, so every reply is speech as loud as the user was.
//
// What it records, on one wall clock: the speaker (what the browser played) and the microphone (user + echo) as
// tapes; every `input_audio_buffer.append` the relay forwarded to the provider (its power); every other client
// event the provider received and every event it sent. A script drives a conversation (turn, bargeIn) and
// `summarize` turns a stretch of it into the bench's numbers.
import { startTestRelay, type TestRelay } from '../../relay/src/testing/start-relay.ts';
import { createSimulatorUpstreamFactory } from '../../relay/src/simulator/in-process.ts';
import type { UpstreamFactory } from '../../relay/src/upstream/upstream.ts';
import { speechWav } from '../audio-fixtures.ts';
import { pollUntil, type Engine, type EngineName, type EnginePage } from '../engines/driver.ts';
import { launchEngine } from '../engines/launch.ts';
import { watchPage } from '../engines/page-report.ts';
import { startPrivatePulse, type PrivatePulse } from '../engines/pulse.ts';
import { activeIntervals, appendsAsTape, erle, estimateLagMs, levelsAsTape, powerOfRms, subtract, tapePower, totalMs, trim, upstreamPower, db, type Interval, type UpAppend } from './echo-metrics.ts';
import type { GuardTraceFrame } from './guard-trace.ts';
import { makeSpeakerphone, recordTape, type EchoPath, type Speakerphone, type TapeRecorder } from './speakerphone.ts';

/** A short turn (~3 s of speech): its reply is as long. */
export const TURN = speechWav('Hello Earshot, this is a test of the whole app.', { rate: 48_000, padSeconds: 0.5, name: 'engines-turn' });
/** A long question (~8 s): its reply is long enough to talk over. No commas: a pause would let the VAD commit early. */
export const LONG_QUESTION = speechWav('Tell me a long story about a lighthouse keeper who lived on a rocky island and the ships he guided home through the storms', { rate: 48_000, padSeconds: 0.3, name: 'engines-unbroken' });
export const INTERRUPTION = speechWav('Wait, stop, I have another question for you.', { rate: 48_000, padSeconds: 0.3, name: 'engines-barge-in' });

/** How the app plays the assistant: through the WebRTC loopback the canceller sees, or straight to the output. */
export type Playback = 'loopback' | 'direct';

export interface AppSwitches {
  playback: Playback;
  /** The barge-in guard (off only to measure the canceller alone). */
  guard: boolean;
  /** The app's Echo cancellation setting (default on; off is the bench's control: what reaches the mic, unremoved). */
  canceller?: boolean;
  /** Keep the session worker's per-frame guard trace (`?trace=guard`), read with Conversation.takeTrace. */
  trace?: boolean;
}

/** Speaker blocks louder than this (PCM16 RMS) are the assistant talking; pauses under MERGE_MS are within a reply. */
const SPEAKER_ACTIVE_RMS = 150;
const MERGE_MS = 800;
/**
 * A turn opened (speech_started) or a reply cut this long after the user's WAV ended is still the user's doing
 * (the path's lag); later, it is not: every WAV ends in ≥ 0.3 s of silence, so the user has been quiet for longer.
 * (A first version allowed 1.5 s, the VAD's silence window, and missed a false turn opened 1 s after the user.)
 */
const USER_TAIL_MS = 300;

export type Logged = { at: number; dir: 'up' | 'down'; type: string };

export interface EchoRig {
  readonly pulse: PrivatePulse;
  readonly speakerphone: Speakerphone;
  /** Opens the app with these switches and starts a hands-free conversation (status Listening). */
  open(switches: AppSwitches): Promise<Conversation>;
  /** The rig's clock (ms). */
  now(): number;
  /**
   * The numbers for [from, to) of the run (see Summary); with the guard trace of that stretch (opened with `trace`),
   * also the ERLE at the capture, before the guard.
   */
  summarize(from: number, to: number, path: EchoPath, trace?: readonly GuardTraceFrame[]): Summary;
  /** Events and appends logged so far (for a failure report). */
  log(): readonly Logged[];
  close(): Promise<void>;
}

export interface Conversation {
  readonly page: EnginePage;
  /** How the app plays here: `direct` where the engine has no RTCPeerConnection, whatever was asked. */
  readonly playback: Playback;
  /**
   * The processing the engine reports for the microphone track the app got (MediaStreamTrack.getSettings; a field
   * an engine does not report is absent). What it reports is not proof it does it: the bench measures that.
   */
  readonly capture: MediaTrackSettings | null;
  /** The user says `wav` and waits for the reply to end; returns how many responses the provider started meanwhile. */
  turn(wav?: string): Promise<{ replies: number }>;
  /**
   * The user asks a long question, then talks over its reply (up to three times, as a person who is not heard at
   * once does) until the app cuts it; returns whether it was cut and how long after the user began talking over it.
   */
  bargeIn(): Promise<BargeIn>;
  /** The guard trace since the last call (empty unless opened with `trace`). */
  takeTrace(): Promise<GuardTraceFrame[]>;
  stop(): Promise<void>;
}

export interface BargeIn {
  caught: boolean;
  /** From the user starting to talk over the reply to the cut (cancel or truncate) reaching the provider. */
  cutMs: number | null;
  /** Interruptions spoken (one more each time the reply went on), and the status line after. */
  said: number;
  statusAfter: string;
}

export interface Summary {
  path: EchoPath;
  /** Stretches where only the assistant was audible, total ms. */
  assistantOnlyMs: number;
  /** The echo at the microphone relative to the user's voice there (dB, both over their voiced blocks). */
  echoToUserDb: number | null;
  /** The loopback's real delay, speaker → microphone (ms), and the path microphone → provider (ms). */
  echoDelayMs: number | null;
  upstreamLagMs: number | null;
  /** ERLE over the assistant-only stretches (null: no such stretch). */
  erle: { db: number; atLeast: boolean } | null;
  /**
   * The same at the capture, as the session worker got it — after the browser's canceller (and its suppressor and
   * gain control), before the guard — from the guard trace (null: no trace, or no assistant-only stretch). The
   * canceller's part alone: `erle` above is "≥" wherever the guard held the audio back, whatever the canceller did.
   */
  captureErle: { db: number; atLeast: boolean } | null;
  /** User turns spoken (each one should open exactly one turn at the provider). */
  userTurns: number;
  /** Turns the provider's VAD opened while the user was silent: the assistant's voice taken for the user's. */
  falseTurns: number;
  /** When each of those turns opened (speech_started at the relay). */
  falseTurnAt: number[];
  /** Replies the app cut (cancel/truncate) while the user was silent: the assistant interrupted by itself. */
  selfCuts: number;
  /** Responses the provider started. */
  responses: number;
  bargeIns: BargeIn[];
}

/**
 * `engine`: Chromium by default (the CI test); the bench can run Firefox or WebKitGTK, whose capture also works
 * through PulseAudio (WebKitGTK's from `mic_in`, the remapped monitor: it ignores monitor sources, pulse.ts).
 */
export async function startEchoRig(engineName: EngineName = 'chromium'): Promise<EchoRig> {
  const pulse = await startPrivatePulse();
  const speakerphone = makeSpeakerphone(pulse);
  const logged: Logged[] = [];
  const appends: UpAppend[] = [];
  /** When the user was speaking (from paplay's start to its end). */
  const userWindows: Interval[] = [];
  const bargeIns: Array<BargeIn & { at: number }> = [];
  const now = () => Date.now();
  const sim = createSimulatorUpstreamFactory();
  const recording: UpstreamFactory = (o, h) => {
    const up = sim(o, {
      ...h,
      onMessage(frame) {
        logged.push({ at: now(), dir: 'down', type: (JSON.parse(typeof frame === 'string' ? frame : Buffer.from(frame).toString()) as { type: string }).type });
        h.onMessage(frame);
      },
    });
    return {
      ...up,
      send(frame) {
        const body = JSON.parse(typeof frame === 'string' ? frame : Buffer.from(frame).toString()) as { type: string; audio?: string };
        if (body.type === 'input_audio_buffer.append') {
          const pcm = Buffer.from(body.audio ?? '', 'base64');
          let sumSq = 0;
          for (let i = 0; i + 1 < pcm.length; i += 2) sumSq += pcm.readInt16LE(i) ** 2;
          appends.push({ at: now(), sumSq, samples: pcm.length >> 1 });
        } else logged.push({ at: now(), dir: 'up', type: body.type });
        up.send(frame);
      },
    };
  };
  let relay: TestRelay | null = null;
  let engine: Engine | null = null;
  let speaker: TapeRecorder | null = null;
  let mic: TapeRecorder | null = null;
  try {
    relay = await startTestRelay({}, { upstreamFactory: recording });
    engine = await launchEngine(engineName, { pulse });
    speaker = recordTape(pulse, 'speaker.monitor');
    mic = recordTape(pulse, 'mic.monitor');
  } catch (e) {
    await Promise.allSettled([speaker?.stop(), mic?.stop(), engine?.close(), relay?.stop()]);
    await pulse.stop();
    throw e;
  }
  const [r, eng, spk, mc] = [relay, engine, speaker, mic];
  const count = (dir: Logged['dir'], type: string, since = 0) => logged.filter((l) => l.dir === dir && l.type === type && l.at >= since).length;
  const cuts = (since: number) => logged.filter((l) => l.dir === 'up' && (l.type === 'response.cancel' || l.type === 'conversation.item.truncate') && l.at >= since);

  async function speak(wav: string): Promise<Interval> {
    const w = { from: now(), to: Infinity };
    userWindows.push(w);
    await pulse.speak(wav);
    w.to = now();
    return w;
  }

  async function open(switches: AppSwitches): Promise<Conversation> {
    const page = await eng.newPage();
    const query = new URLSearchParams({ ...(switches.playback === 'direct' ? { playback: 'direct' } : {}), ...(switches.guard ? {} : { guard: 'off' }), ...(switches.trace ? { trace: 'guard' } : {}) }).toString();
    await page.goto(`${r.url}/${query ? `?${query}` : ''}#token=${await r.mint(`echo-${switches.playback}-${switches.guard ? 'guard' : 'noguard'}${switches.canceller === false ? '-noaec' : ''}`)}`);
    const startShown = () => page.waitFor('the Start button', async () => (await page.texts('button', 'Start conversation')).length > 0);
    await startShown();
    if (switches.canceller === false) {
      // As the Settings switch stores it (each page has its own browser context, so no other page sees it).
      await page.evaluate(() => localStorage.setItem('earshot.settings', JSON.stringify({ echoCancellation: false })));
      await page.reload();
      await startShown();
    }
    await watchPage(page);
    const status = async () => (await page.texts('status'))[0] ?? '';
    const untilStatus = (what: string, line: RegExp, timeoutMs: number) => pollUntil(what, status, (s) => line.test(s), timeoutMs);
    /** Listening, with no response under way and none played for a second (a late false turn would show by then). */
    const settled = async () => {
      let quietSince: number | null = null;
      await pollUntil(
        'the conversation to settle on Listening',
        async () => {
          const idle = /^Listening$/.test(await status()) && count('down', 'response.created') === count('down', 'response.done');
          quietSince = idle ? (quietSince ?? now()) : null;
          return quietSince !== null && now() - quietSince >= 1000;
        },
        (ok) => ok,
        60_000,
      );
    };
    // Counts the peer connections the app makes (the loopback is a pair, direct playback makes none), and keeps
    // what the browser says it applied to the microphone track the app got (getSettings: the constraints it honours).
    // An engine with no RTCPeerConnection (Debian's WebKitGTK) cannot make the loopback: the app plays direct
    // there, and so does the rig's `loopback` (the bench labels the row).
    const probe = await page.evaluate(() => {
      const w = window as unknown as { RTCPeerConnection?: typeof RTCPeerConnection; __peers: number; __capture: MediaTrackSettings | null };
      w.__peers = 0;
      w.__capture = null;
      const md = navigator.mediaDevices;
      const gum = md.getUserMedia.bind(md);
      md.getUserMedia = async (constraints) => {
        const stream = await gum(constraints);
        const s = stream.getAudioTracks()[0]?.getSettings() ?? {};
        // Only the processing fields: the rest (deviceId, groupId) are per-profile ids of no use here.
        w.__capture = { echoCancellation: s.echoCancellation, noiseSuppression: s.noiseSuppression, autoGainControl: s.autoGainControl, sampleRate: s.sampleRate, channelCount: s.channelCount };
        return stream;
      };
      const Base = w.RTCPeerConnection;
      if (typeof Base !== 'function') return { peerConnection: false };
      w.RTCPeerConnection = class extends Base {
        constructor(config?: RTCConfiguration) {
          super(config);
          w.__peers++;
        }
      };
      return { peerConnection: true };
    });
    const playback: Playback = probe.peerConnection ? switches.playback : 'direct';
    await page.click('button', 'Start conversation');
    await untilStatus('Listening', /^Listening$/, 30_000);
    const { peers, capture } = await page.evaluate(() => {
      const w = window as unknown as { __peers: number; __capture: MediaTrackSettings | null };
      return { peers: w.__peers, capture: w.__capture };
    });
    if (peers !== (playback === 'loopback' ? 2 : 0)) throw new Error(`asked for ${switches.playback} playback, the app made ${peers} peer connections`);
    return {
      page,
      playback,
      capture,
      async turn(wav = TURN) {
        const from = now();
        await speak(wav);
        await pollUntil('a reply', async () => count('down', 'response.created', from), (n) => n > 0, 30_000);
        await settled();
        return { replies: count('down', 'response.created', from) };
      },
      async bargeIn() {
        // The long question, until its reply is still playing a second in (as a person waits for a breath before
        // cutting in). Once in a while the reply is over by then — the VAD committed part of the question at a
        // pause and the reply was to that part — and the question is asked again (at most twice more).
        for (let asked = 0; ; asked++) {
          await speak(LONG_QUESTION);
          await untilStatus('the long reply to play', /^Speaking/, 30_000);
          const speaking = now();
          await pollUntil('a second of the reply', async () => now() - speaking, (ms) => ms >= 1000, 5_000);
          if (/^Speaking/.test(await status())) break;
          if (asked === 2) throw new Error('three long replies were over within a second: nothing to talk over');
          await settled();
        }
        const from = now();
        let said = 0;
        while (said < 3 && cuts(from).length === 0 && /^Speaking/.test(await status())) {
          await speak(INTERRUPTION);
          said++;
        }
        const cut = await pollUntil('a cut', async () => cuts(from)[0] ?? null, (c) => c !== null, 5_000).catch(() => null);
        const result = { caught: cut !== null, cutMs: cut ? cut.at - from : null, said, statusAfter: await status() };
        bargeIns.push({ at: from, ...result });
        await settled();
        return result;
      },
      async takeTrace() {
        if (!switches.trace) return [];
        return page.evaluate(() => (window as unknown as { __earshotGuardTrace: () => Promise<GuardTraceFrame[]> }).__earshotGuardTrace());
      },
      async stop() {
        await page.click('button', 'Stop conversation');
        await untilStatus('Ready after Stop', /Ready/, 20_000);
        await page.close();
      },
    };
  }

  function summarize(from: number, to: number, path: EchoPath, trace: readonly GuardTraceFrame[] = []): Summary {
    const speakerTape = spk.tape();
    const micTape = mc.tape();
    const within = { from, to };
    const users = userWindows.filter((w) => w.from < to && w.to > from);
    const userTails = users.map((w) => ({ from: w.from, to: w.to + USER_TAIL_MS }));
    const assistant = activeIntervals(speakerTape, powerOfRms(SPEAKER_ACTIVE_RMS), MERGE_MS, within);
    const assistantOnly = trim(subtract(assistant, users.map((w) => ({ from: w.from - 200, to: w.to + 200 }))), 200);
    // Delays: the loopback's, speaker → mic, while the assistant talks; the path mic → provider, while the user talks.
    const echoDelayMs = assistantOnly.length > 0 ? estimateLagMs(speakerTape, micTape, { from: assistantOnly[0]!.from, to: assistantOnly.at(-1)!.to }, 600) : null;
    const upTape = appendsAsTape(appends, from - 1000, to + 3000, 20);
    const upstreamLagMs = users.length > 0 ? estimateLagMs(micTape, upTape, { from: users[0]!.from, to: users.at(-1)!.to }, 1500) : null;
    const voiced = powerOfRms(SPEAKER_ACTIVE_RMS);
    const userLevel = tapePower(micTape, subtract(users, assistant), 0, voiced);
    const echoLevel = tapePower(micTape, assistantOnly, echoDelayMs ?? 0, voiced);
    const micEcho = tapePower(micTape, assistantOnly, echoDelayMs ?? 0);
    const up = upstreamPower(appends, assistantOnly.map((i) => ({ from: i.from + (echoDelayMs ?? 0), to: i.to + (echoDelayMs ?? 0) })), upstreamLagMs ?? 0);
    // The capture as the worker saw it, lined up with the microphone tape by the user's speech (as the upstream is).
    const captureTape = levelsAsTape(trace.filter((f) => f.at >= from - 1000 && f.at < to + 3000), 20);
    const captureLagMs = users.length > 0 && captureTape.power.length > 0 ? estimateLagMs(micTape, captureTape, { from: users[0]!.from, to: users.at(-1)!.to }, 600) : null;
    const captureEcho = captureLagMs === null ? 0 : tapePower(captureTape, assistantOnly, (echoDelayMs ?? 0) + captureLagMs);
    const inUserTail = (at: number) => userTails.some((w) => at >= w.from && at < w.to);
    const inRange = (l: Logged) => l.at >= from && l.at < to;
    const falseTurnAt = logged.filter((l) => inRange(l) && l.dir === 'down' && l.type === 'input_audio_buffer.speech_started' && !inUserTail(l.at)).map((l) => l.at);
    return {
      path,
      assistantOnlyMs: totalMs(assistantOnly),
      echoToUserDb: userLevel > 0 && echoLevel > 0 ? db(echoLevel / userLevel) : null,
      echoDelayMs,
      upstreamLagMs,
      erle: assistantOnly.length > 0 && up.samples > 0 ? erle(micEcho, up.power) : null,
      captureErle: assistantOnly.length > 0 && captureLagMs !== null ? erle(micEcho, captureEcho) : null,
      userTurns: users.length,
      falseTurns: falseTurnAt.length,
      falseTurnAt,
      selfCuts: logged.filter((l) => inRange(l) && l.dir === 'up' && (l.type === 'response.cancel' || l.type === 'conversation.item.truncate') && !inUserTail(l.at)).length,
      responses: logged.filter((l) => inRange(l) && l.dir === 'down' && l.type === 'response.created').length,
      bargeIns: bargeIns.filter((b) => b.at >= from && b.at < to).map(({ at: _at, ...b }) => b),
    };
  }

  return {
    pulse,
    speakerphone,
    open,
    now,
    summarize,
    log: () => logged,
    async close() {
      await Promise.allSettled([spk.stop(), mc.stop()]);
      await eng.close().catch(() => undefined);
      await r.stop().catch(() => undefined);
      await pulse.stop();
    },
  };
}
