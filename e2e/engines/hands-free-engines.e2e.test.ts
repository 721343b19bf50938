// Hands-free on a phone, in each of the three engines (Chromium, Firefox ESR, WebKitGTK): the screen goes off,
// the headset's buttons run the conversation, a headset comes and goes. The real production build behind the
// real relay and simulator; a private PulseAudio server is the phone's microphone, speaker and headset.
//
// What reaches the relay is counted at the relay's upstream (the simulator's side of it), decoded here with
// Buffer and a loop, not with the app's code: "voiced" appends are the ones whose PCM16 peak is clearly speech.
//
// Page lifecycle is emulated the same way in every engine: document.visibilityState is overridden in the page and
// visibilitychange / pagehide / freeze are dispatched (no engine here hides a headless page for real). An iPhone is
// emulated by its user agent; the suspension iOS applies to a hidden page by suspending the app's own AudioContext.
// Media Session actions are invoked by calling the handlers the app registered (recorded by wrapping
// setActionHandler in the page before Start): no engine here delivers media keys to a headless page.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect } from 'vitest';
import { startTestRelay, type TestRelay } from '../../relay/src/testing/start-relay.ts';
import { createSimulatorUpstreamFactory } from '../../relay/src/simulator/in-process.ts';
import type { UpstreamFactory } from '../../relay/src/upstream/upstream.ts';
import { speechWav } from '../audio-fixtures.ts';
import { ENGINES, pollUntil, type Engine, type EngineName, type EnginePage } from './driver.ts';
import { observeAudioContexts, statusLine, testPages, transcript, untilStatus } from './app-page.ts';
import { launchEngine } from './launch.ts';
import { pageReport, watchPage } from './page-report.ts';
import { startPrivatePulse, type PrivatePulse } from './pulse.ts';

const chosen = (process.env.EARSHOT_ENGINES?.split(',') ?? ENGINES) as EngineName[];
const PHRASE = speechWav('Hello Earshot, this is a test of the whole app.', { rate: 48_000, padSeconds: 0.5, name: 'engines-turn' });
const LONG_PHRASE = speechWav('Tell me a long story about a lighthouse keeper who lived on a rocky island, the ships he guided home, and the storms he watched over many years.', { rate: 48_000, padSeconds: 0.5, name: 'engines-long' });
// No commas: espeak pauses at them, and a pause long enough for the VAD would commit part of it before the lock.
const UNBROKEN_PHRASE = speechWav('Tell me a long story about a lighthouse keeper who lived on a rocky island and the ships he guided home through the storms', { rate: 48_000, padSeconds: 0.3, name: 'engines-unbroken' });
const IPHONE_UA = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1';
/** A 24 kHz PCM16 append louder than this is speech (the null-sink microphone is digital silence otherwise). */
const VOICED_PEAK = 1000;

const replies = async (page: EnginePage) => ((await transcript(page)).match(/Echo: \d+\.\d s of speech heard/g) ?? []).length;

/** Emulates the screen going off (hidden: visibilitychange, pagehide, freeze) or coming back (visible). */
function setLifecycle(page: EnginePage, state: 'hidden' | 'visible'): Promise<void> {
  return page.evaluate((s) => {
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => s });
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => s === 'hidden' });
    document.dispatchEvent(new Event('visibilitychange'));
    if (s === 'hidden') {
      window.dispatchEvent(new Event('pagehide'));
      document.dispatchEvent(new Event('freeze'));
    } else {
      document.dispatchEvent(new Event('resume'));
      window.dispatchEvent(new Event('pageshow'));
    }
  }, state);
}

describe.each(chosen)('hands-free in %s', (engineName) => {
  let pulse: PrivatePulse;
  let engine: Engine;
  let relay: TestRelay;
  /** Non-audio client events the simulator received, in order. */
  const received: string[] = [];
  /** Both directions in order: `up:<client event>` (not audio), `down:<server event>` (parsed here). */
  const timeline: string[] = [];
  const audio = { appends: 0, voiced: 0 };
  /** Provider sessions the relay opened (a dropped conversation opens a new one). */
  let sessions = 0;
  /** Appends each provider session received (by its number, 1-based), and the sessions the relay has not closed. */
  const appendsOf: number[] = [];
  const openSessions = new Set<number>();
  const count = (type: string) => received.filter((t) => t === type).length;

  beforeAll(async () => {
    pulse = await startPrivatePulse();
    const sim = createSimulatorUpstreamFactory();
    const recording: UpstreamFactory = (o, h) => {
      const id = ++sessions;
      openSessions.add(id);
      appendsOf[id] = 0;
      const up = sim(o, {
        ...h,
        onClose(code, reason, failure) {
          openSessions.delete(id);
          h.onClose(code, reason, failure);
        },
        onMessage(frame) {
          timeline.push(`down:${String((JSON.parse(typeof frame === 'string' ? frame : Buffer.from(frame).toString()) as { type: string }).type)}`);
          h.onMessage(frame);
        },
      });
      return {
        ...up,
        send(frame) {
          const body = JSON.parse(typeof frame === 'string' ? frame : Buffer.from(frame).toString()) as { type: string; audio?: string };
          if (body.type === 'input_audio_buffer.append') {
            const pcm = Buffer.from(body.audio ?? '', 'base64');
            let peak = 0;
            for (let i = 0; i + 1 < pcm.length; i += 2) peak = Math.max(peak, Math.abs(pcm.readInt16LE(i)));
            audio.appends++;
            appendsOf[id]!++;
            if (peak > VOICED_PEAK) audio.voiced++;
          } else {
            received.push(body.type);
            timeline.push(`up:${body.type}`);
          }
          up.send(frame);
        },
        close(code, reason) {
          openSessions.delete(id);
          up.close(code, reason);
        },
      };
    };
    relay = await startTestRelay({}, { upstreamFactory: recording });
    engine = await launchEngine(engineName, { pulse, gestureGated: true });
  });

  afterAll(async () => {
    await engine?.close();
    await relay?.stop();
    await pulse?.stop();
  });

  const { pages, test } = testPages(() => engine);
  /**
   * A test of something an engine does not have is not registered for that engine at all (it has nothing to test
   * there), instead of being reported as skipped; the comment above each such test says why.
   */
  const onlyIn = (applies: boolean): typeof test => (applies ? test : () => undefined);
  /** Where this test's client events start in `received` (the list spans the file). */
  let receivedFrom = 0;
  beforeEach(() => {
    receivedFrom = received.length;
  });
  afterEach(async (ctx) => {
    // A failed test says what its pages showed (before they close): the CI log has nothing else.
    if (ctx.task.result?.state === 'fail') {
      for (const page of pages) console.error(`[${engineName}] "${ctx.task.name}" failed; the page showed:\n${await pageReport(page, received.slice(receivedFrom))}`);
    }
    for (const page of pages) {
      // The profile may be shared between pages: no setting outlives its test.
      await page.evaluate(() => localStorage.removeItem('earshot.settings')).catch(() => undefined);
      await page.close().catch(() => undefined);
    }
    pages.clear();
  });

  async function listening(user: string, before?: (page: EnginePage) => Promise<void>): Promise<EnginePage> {
    const page = await engine.newPage();
    pages.add(page);
    await page.goto(`${relay.url}/#token=${await relay.mint(user)}`);
    await page.waitFor('the Start button', async () => (await page.texts('button', 'Start conversation')).length > 0);
    await watchPage(page);
    await before?.(page);
    await page.click('button', 'Start conversation');
    await untilStatus(page, 'Listening', /^Listening$/, 30_000);
    return page;
  }

  /**
   * Stop, as the person presses it, and wait for the app to be Ready: the relay has the app's hang-up (close 1000)
   * before the test closes the page. A page closed mid-conversation looks like a dropped link to the relay, which
   * keeps that provider session for the resume grace period and fills it with silence: another test's appends.
   */
  async function stopConversation(page: EnginePage): Promise<void> {
    await page.click('button', 'Stop conversation');
    await untilStatus(page, 'Ready after Stop', /Ready/, 20_000);
  }

  /** Speaks `wav` (into `sink`) and waits for one more echo reply; returns how many voiced appends it took. */
  async function spokenTurn(page: EnginePage, wav = PHRASE, sink = 'mic'): Promise<number> {
    const [voiced, before] = [audio.voiced, await replies(page)];
    await pulse.speak(wav, sink);
    await page.waitFor('an echo reply', async () => (await replies(page)) > before, 30_000);
    return audio.voiced - voiced;
  }

  /**
   * Speaks into `sink` until a reply comes that its voiced audio earned (the app may take a moment to switch
   * microphones, and a late reply to earlier audio must not count); returns the voiced appends of that turn.
   */
  function answeredFrom(page: EnginePage, sink: string): Promise<number> {
    return page.waitFor(
      `a reply to speech into ${sink}`,
      async () => {
        await untilStatus(page, 'Listening', /^Listening$/, 30_000);
        const [before, v] = [await replies(page), audio.voiced];
        await pulse.speak(PHRASE, sink);
        const got = await page.waitFor('a reply', async () => (await replies(page)) > before, 8_000).catch(() => false);
        console.log(`[${engineName}] spoke into ${sink}: ${audio.voiced - v} voiced appends, ${got ? 'a reply' : 'no reply'}`);
        return got && audio.voiced - v > 10 && audio.voiced - v;
      },
      60_000,
    );
  }

  test('keeps the conversation going with the screen off: audio keeps reaching the relay and a spoken turn is answered', async () => {
    const page = await listening('screen-off');
    const sessionsBefore = sessions;
    await setLifecycle(page, 'hidden');
    const voiced = await spokenTurn(page);
    console.log(`[${engineName}] hidden: ${voiced} voiced appends reached the relay for one turn`);
    expect(voiced).toBeGreaterThan(10);
    expect(await statusLine(page)).not.toMatch(/Paused|Ready/);
    await setLifecycle(page, 'visible');
    // The person speaks again once the reply is over (spoken over the reply, the guard would hold part of it back).
    await untilStatus(page, 'Listening after the reply', /^Listening$/, 30_000);
    expect(await spokenTurn(page)).toBeGreaterThan(10);
    expect(sessions, 'the same provider session throughout').toBe(sessionsBefore);
    await stopConversation(page);
  });

  // Chromium can put a page through the real lifecycle (Page.setWebLifecycleState): frozen, no task runs at all,
  // then active again. A phone freezes only pages that do not capture; this checks the conversation survives it.
  onlyIn(engineName === 'chromium')('survives a real freeze and thaw of the page (Chromium lifecycle), and talks on', async () => {
    const page = await listening('frozen');
    const sessionsBefore = sessions;
    await page.cdp!('Page.setWebLifecycleState', { state: 'frozen' });
    const frozenAt = audio.appends;
    await new Promise((r) => setTimeout(r, 3000));
    console.log(`[chromium] frozen 3 s: ${audio.appends - frozenAt} appends reached the relay meanwhile`);
    await page.cdp!('Page.setWebLifecycleState', { state: 'active' });
    await untilStatus(page, 'Listening after the thaw', /^Listening$/, 30_000);
    expect(await spokenTurn(page)).toBeGreaterThan(10);
    expect(sessions, 'the same provider session throughout').toBe(sessionsBefore);
    await stopConversation(page);
  });

  test('with "Stop when the screen locks" on, ends the conversation as the screen goes off and says why', async () => {
    const page = await listening('stop-on-lock', async (p) => {
      await p.click('button', 'Settings');
      await p.click('checkbox', 'Stop when the screen locks');
      await p.click('button', 'Close settings');
    });
    const mine = sessions;
    await setLifecycle(page, 'hidden');
    await untilStatus(page, 'the conversation to end', /Paused while the app was in the background/, 20_000);
    // The app hung up (a dropped link would be kept for resume, with the relay filling silence): the provider
    // session is over, and no microphone audio reaches the relay any more, spoken or not.
    await pollUntil('the provider session to end', async () => openSessions.has(mine), (open) => !open, 5_000);
    const [appends, voiced] = [appendsOf[mine]!, audio.voiced];
    await pulse.speak(PHRASE);
    expect(appendsOf[mine]! - appends).toBe(0);
    expect(audio.voiced - voiced).toBe(0);
    await setLifecycle(page, 'visible');
    await page.click('button', 'Start conversation');
    await untilStatus(page, 'Listening again', /^Listening$/, 30_000);
    await spokenTurn(page);
    await stopConversation(page);
  });

  test('on an iPhone, ends the turn cleanly when the screen goes off under it, and Tap to resume goes on', async () => {
    const page = await listening('iphone', async (p) => {
      await p.evaluate((ua) => void Object.defineProperty(navigator, 'userAgent', { configurable: true, get: () => ua }), IPHONE_UA);
      await observeAudioContexts(p);
    });
    const spoken = pulse.speak(UNBROKEN_PHRASE);
    await untilStatus(page, 'Hearing you', /^Hearing/, 30_000);
    const clears = count('input_audio_buffer.clear');
    // The screen locks and iOS suspends the page's audio.
    await setLifecycle(page, 'hidden');
    await page.evaluate(() => (window as unknown as { __contexts: AudioContext[] }).__contexts.at(-1)!.suspend());
    await page.waitFor('the unfinished turn to be cleared at the provider', async () => count('input_audio_buffer.clear') > clears, 10_000);
    await spoken;
    // Once, though hidden, pagehide, freeze and the suspension each said the page lost its audio.
    expect(count('input_audio_buffer.clear') - clears).toBe(1);
    // The dropped words get no answer: after the clear the provider commits no turn and starts no response. (A
    // part said before the lock may have been committed already, after a pause long enough for the VAD.)
    const afterClear = timeline.slice(timeline.lastIndexOf('up:input_audio_buffer.clear'));
    expect(afterClear.filter((t) => t === 'down:input_audio_buffer.committed' || t === 'down:response.created'), afterClear.join(' ')).toEqual([]);
    expect(afterClear).toContain('down:input_audio_buffer.cleared');
    await setLifecycle(page, 'visible');
    await page.waitFor('the Tap to resume button', async () => (await page.texts('button', 'Tap to resume')).length > 0, 20_000);
    await page.click('button', 'Tap to resume');
    await untilStatus(page, 'Listening after the tap', /^Listening$/, 30_000);
    expect(await page.evaluate(() => (window as unknown as { __contexts: AudioContext[] }).__contexts.at(-1)!.state)).toBe('running');
    await spokenTurn(page);
    await stopConversation(page);
  });

  test('puts the conversation on the lock screen, and the headset buttons mute, interrupt and hang up', async () => {
    const page = await listening('headset-buttons', async (p) => {
      await p.evaluate(() => {
        const w = window as unknown as { __media: Record<string, () => void> };
        w.__media = {};
        const session = navigator.mediaSession;
        if (!session) return;
        const set = session.setActionHandler.bind(session);
        session.setActionHandler = (action, handler) => {
          set(action, handler); // throws for actions this browser does not know: those are not recorded
          if (handler) w.__media[action] = handler as () => void;
          else delete w.__media[action];
        };
      });
    });
    const bound = await page.evaluate(() => Object.keys((window as unknown as { __media: Record<string, unknown> }).__media).sort());
    const lockScreen = () => page.evaluate(() => ({ title: navigator.mediaSession?.metadata?.title ?? null, artist: navigator.mediaSession?.metadata?.artist ?? null, state: navigator.mediaSession?.playbackState ?? null }));
    const press = (action: string) => page.evaluate((a) => (window as unknown as { __media: Record<string, () => void> }).__media[a]!(), action);
    console.log(`[${engineName}] Media Session actions the browser accepted: ${bound.join(', ') || 'none (no mediaSession)'}`);
    expect(bound).toEqual(expect.arrayContaining(['nexttrack', 'pause', 'play', 'stop']));
    expect(await lockScreen()).toEqual({ title: 'Earshot — conversation', artist: 'Listening', state: 'playing' });

    if (page.cdp) {
      // A real media key, as a keyboard's or headset's reaches the browser: does Chromium route it to the page's
      // Media Session when sent through DevTools input? (Logged, not asserted: headless has no media-key service.)
      await page.cdp('Input.dispatchKeyEvent', { type: 'rawKeyDown', key: 'MediaPlayPause', code: 'MediaPlayPause', windowsVirtualKeyCode: 0xb3 });
      await page.cdp('Input.dispatchKeyEvent', { type: 'keyUp', key: 'MediaPlayPause', code: 'MediaPlayPause', windowsVirtualKeyCode: 0xb3 });
      await new Promise((r) => setTimeout(r, 1000));
      const mutedByKey = (await page.texts('button', 'Unmute')).length > 0;
      console.log(`[${engineName}] CDP MediaPlayPause key ${mutedByKey ? 'reached' : 'did NOT reach'} the Media Session`);
      if (mutedByKey) await press('play');
    }

    // Play/pause: mute. The relay hears nothing of what is said while muted.
    await press('pause');
    await page.waitFor('Unmute to be offered', async () => (await page.texts('button', 'Unmute')).length > 0);
    await page.waitFor('the lock screen to say muted', async () => (await lockScreen()).state === 'paused');
    expect((await lockScreen()).artist).toMatch(/^Muted/);
    const voiced = audio.voiced;
    const repliesMuted = await replies(page);
    await pulse.speak(PHRASE);
    expect(audio.voiced - voiced).toBe(0);
    expect(await replies(page)).toBe(repliesMuted);
    await press('play');
    await page.waitFor('Mute to be offered again', async () => (await page.texts('button', 'Mute')).length > 0);
    expect((await lockScreen()).state).toBe('playing');

    // Next track (a long press on many headsets): the assistant is cut off where it was heard.
    await pulse.speak(LONG_PHRASE);
    await untilStatus(page, 'the reply to play', /^Speaking/, 30_000);
    const cancels = count('response.cancel') + count('conversation.item.truncate');
    await press('nexttrack');
    await page.waitFor('the reply to be cut at the provider', async () => count('response.cancel') + count('conversation.item.truncate') > cancels, 10_000);
    await page.waitFor('the transcript to mark it', async () => /interrupted/.test(await transcript(page)), 10_000);

    // Hang up (Chromium's newer action) or stop: the conversation ends and the lock screen is cleared.
    await press(bound.includes('hangup') ? 'hangup' : 'stop');
    await untilStatus(page, 'Ready after hanging up', /Ready/, 20_000);
    expect(await lockScreen()).toEqual({ title: null, artist: null, state: bound.length > 0 ? 'none' : null });
  });

  // WebKitGTK is left out: its capture is pinned to the device it opened (PulseAudio does not move it), and the
  // devicechange that would make the app re-acquire arrived in only some runs here (3 of 7; in the others the capture
  // stayed on the old source with the headset loaded and default), so a pass or fail there says nothing stable.
  onlyIn(engineName !== 'webkit')('switches to a headset that appears mid-conversation and back when it goes, without dropping the session', async () => {
    const page = await listening('headset-plug');
    const sessionsBefore = sessions;
    const sinkInputs = () => pulse.pactl('list', 'short', 'sink-inputs');
    const sinks = () => pulse.pactl('list', 'short', 'sinks');
    /** The sinks the browser's playback streams are on, by name (`list short` prints index, name / index, sink). */
    const playingTo = async () => {
      const names = new Map((await sinks()).trim().split('\n').map((l) => l.split('\t')).map(([i, n]) => [i!, n!]));
      return [...new Set((await sinkInputs()).trim().split('\n').filter(Boolean).map((l) => names.get(l.split('\t')[1]!) ?? '?'))];
    };
    const modules: string[] = [];
    try {
      modules.push((await pulse.pactl('load-module', 'module-null-sink', 'sink_name=headset', 'rate=48000')).trim());
      modules.push((await pulse.pactl('load-module', 'module-remap-source', 'source_name=headset_in', 'master=headset.monitor')).trim());
      await pulse.pactl('set-default-source', 'headset_in');
      await pulse.pactl('set-default-sink', 'headset');
      // Speech into the headset only: the old microphone hears silence, so voiced audio at the relay is the headset's.
      const voiced = await answeredFrom(page, 'headset');
      console.log(`[${engineName}] headset in: ${voiced} voiced appends; playing to ${(await playingTo()).join(', ')}`);
      expect(voiced).toBeGreaterThan(10);
      // The reply is heard in the headset: the app's playback follows the default output there.
      expect(await playingTo()).toEqual(['headset']);
    } finally {
      await pulse.pactl('set-default-source', 'mic_in');
      await pulse.pactl('set-default-sink', 'speaker');
      for (const id of modules.reverse()) await pulse.pactl('unload-module', id);
    }
    // The headset is gone: the microphone it gave ends and the app takes the default one again.
    const voicedAfter = await answeredFrom(page, 'mic');
    console.log(`[${engineName}] headset out: ${voicedAfter} voiced appends; playing to ${(await playingTo()).join(', ')}`);
    expect(voicedAfter).toBeGreaterThan(10);
    expect(await playingTo()).toEqual(['speaker']);
    expect(sessions, 'the same provider session throughout').toBe(sessionsBefore);
    await untilStatus(page, 'Listening after the reply', /^Listening$/, 30_000);
    await stopConversation(page);
  });
});
