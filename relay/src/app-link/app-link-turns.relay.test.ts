// Turns on the app link (`earshot.v2`) the way the app speaks: the real relay, the real in-process simulator (its
// VAD decides where speech starts and stops), and a real `ws` client sending Opus in real time on a capture clock
// that does not start at 0 — speech, then the app's quiet hangover packets, then nothing during the pause (DTX).
// What the provider did is read from the relay's accounting hooks, which see every frame it sent.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppLinkTestClient, encodeOpusPackets } from '../testing/app-link-client.ts';
import { speechPcm16 } from '../testing/realtime-client.ts';
import { startTestRelay, type TestRelay } from '../testing/start-relay.ts';
import { until } from '../testing/until.ts';
import type { SessionHooksFactory } from '../session/hooks.ts';

type Packet = { captureMs: number; opus: Uint8Array; level: number };

let relay: TestRelay;
/** One utterance as the app sends it: its voiced packets and the 200 ms of quiet hangover after the last. */
let utterance: Packet[];
/** Provider events (and the relay's appends to it) per session, in order, as they happen. */
const seen = new Map<string, string[]>();
const hooks: SessionHooksFactory = (info) => {
  const list: string[] = [];
  seen.set(info.sessionId, list);
  return {
    onClientFrame: (type) => list.push(`> ${type}`),
    onServerFrame: (type) => list.push(type),
    onEnd: () => undefined,
  };
};

const SILENCE_MS = 600;
const VOICED = 500;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  relay = await startTestRelay({ appLink: { transcodeWorkers: 1 } }, { hooksFactory: hooks });
  const all = encodeOpusPackets(speechPcm16('one two three four', 0.3));
  const first = all.findIndex((p) => p.level > VOICED);
  const last = all.findLastIndex((p) => p.level > VOICED);
  utterance = all.slice(first, last + 6);
});
afterAll(async () => {
  await relay.stop();
});

async function connect(user: string, resume?: { token: string; received: number }): Promise<AppLinkTestClient> {
  const c = await AppLinkTestClient.connect(relay.wsUrl, await relay.mint(user), resume);
  await c.waitUntil('earshot.session', () => c.session);
  return c;
}

/** The utterance up to a loud packet past its middle: it stops mid-word. */
function midWord(): Packet[] {
  const middle = Math.floor(utterance.length / 2);
  const loudest = utterance.slice(middle).reduce((best, p, i) => (p.level > utterance[best]!.level ? middle + i : best), middle);
  return utterance.slice(0, loudest + 1);
}

async function configure(c: AppLinkTestClient): Promise<void> {
  c.send({ type: 'session.update', session: { type: 'realtime', audio: { input: { turn_detection: { type: 'server_vad', silence_duration_ms: SILENCE_MS } } } } });
  await c.waitFor('session.updated');
}

/** Sends `packets` (their captureMs relative to the utterance) at capture time `base` on, paced in real time from `t0`. */
async function speak(c: AppLinkTestClient, packets: Packet[], base: number, t0: number, origin: number): Promise<void> {
  for (const p of packets) {
    const wait = t0 + (base - origin) + (p.captureMs - utterance[0]!.captureMs) - performance.now();
    if (wait > 0) await sleep(wait);
    c.sendAudio(base + p.captureMs - utterance[0]!.captureMs, p.opus);
  }
}

describe('earshot.v2: the capture clock across turns', () => {
  it("maps each turn's speech_stopped to the capture time of that turn's last voiced packets, turn after turn", async () => {
    const c = await connect('turns-clock');
    await configure(c);
    const origin = 61_000; // the app's capture clock counts from its AudioContext's start, not from the link's
    const t0 = performance.now();
    const voiced = utterance.filter((p) => p.level > VOICED);
    const lastVoiced = voiced.at(-1)!.captureMs - utterance[0]!.captureMs;
    const turns: Array<{ lastVoicedStart: number; lastVoicedEnd: number }> = [];
    for (let turn = 0; turn < 3; turn++) {
      const base = origin + turn * 3_500; // ~1.5 s spoken, then a pause while the reply plays
      turns.push({ lastVoicedStart: base + lastVoiced, lastVoicedEnd: base + lastVoiced + 40 });
      await speak(c, utterance, base, t0, origin);
      await c.waitUntil(`reply ${turn + 1}`, () => c.of('response.done').length > turn, 15_000);
    }
    const stamps = c.of('earshot.capture_clock').filter((e) => e.event === 'input_audio_buffer.speech_stopped').map((e) => e.capture_ms as number);
    console.log(`speech_stopped on the capture clock ${stamps.join(', ')}; last voiced packets ${turns.map((t) => `${t.lastVoicedStart}–${t.lastVoicedEnd}`).join(', ')}`);
    expect(stamps).toHaveLength(3);
    // The end of speech is where the voice stopped (within the VAD's 10 ms windows and the codec's delay), not where
    // the provider's silence window confirmed it, nor anywhere else on a clock that drifts turn by turn.
    for (const [i, t] of turns.entries()) {
      expect(stamps[i]).toBeGreaterThanOrEqual(t.lastVoicedStart - 40);
      expect(stamps[i]).toBeLessThanOrEqual(t.lastVoicedEnd + 60);
    }
    await c.close();
  }, 60_000);
});

describe('earshot.v2: a link that dies mid-word', () => {
  it('clears the fragment (no turn, no reply while the link is down); after the resume the next words get exactly one reply', async () => {
    const a = await connect('turns-mid-word');
    const id = a.session!.session_id;
    await configure(a);
    a.answerPings = false; // nothing but audio from the app, so nothing says the link is alive after the fragment
    const t0 = performance.now();
    const fragment = midWord();
    expect(fragment.at(-1)!.level).toBeGreaterThan(8_000);
    await speak(a, fragment, 5_000, t0, 5_000);
    await a.waitFor('input_audio_buffer.speech_started');
    a.dropTcp(); // no close frame: the phone's network went away
    await a.closed;
    // The relay cut the fragment at the provider…
    await until('the provider cleared its input buffer', () => seen.get(id)!.includes('input_audio_buffer.cleared'));
    const atCut = seen.get(id)!.length;
    // …and while the link stays down (longer than the provider's silence window) nothing reaches the provider, so
    // its VAD cannot end the fragment as a turn.
    await sleep(SILENCE_MS + 600);
    expect(seen.get(id)!.slice(atCut)).toEqual([]);
    expect(seen.get(id)!.filter((t) => t === 'input_audio_buffer.committed' || t === 'response.created')).toEqual([]);

    const b = await connect('turns-mid-word', { token: a.session!.resume_token, received: a.received });
    expect(b.session).toMatchObject({ resumed: true, session_id: id });
    // The replay tells the app what happened, so it can ask the person to say it again.
    await b.waitFor('earshot.input_cut');
    expect(b.of('earshot.input_cut')[0]).toMatchObject({ reason: 'link_lost' });
    expect(b.of('input_audio_buffer.cleared')).toHaveLength(1);
    await speak(b, utterance, 20_000, performance.now(), 20_000);
    await b.waitFor('response.done', { timeoutMs: 15_000 });
    await sleep(300); // a second reply would have been created by now
    expect(seen.get(id)!.filter((t) => t === 'response.created')).toHaveLength(1);
    expect(seen.get(id)!.filter((t) => t === 'input_audio_buffer.committed')).toHaveLength(1);
    await b.close();
  }, 60_000);

  it('a link that goes silent mid-word (no close, no heartbeat) is declared dead and cut the same way, with no turn', async () => {
    // Dead only after longer than the provider's silence window: the fill must not run meanwhile (it is held).
    const fast = await startTestRelay({ appLink: { heartbeatMs: 100, linkDeadMs: SILENCE_MS + 900, transcodeWorkers: 1 } }, { hooksFactory: hooks });
    try {
      const a = await AppLinkTestClient.connect(fast.wsUrl, await fast.mint('turns-silent'));
      await a.waitUntil('earshot.session', () => a.session);
      const id = a.session!.session_id;
      await configure(a);
      a.answerPings = false;
      await speak(a, midWord(), 5_000, performance.now(), 5_000);
      await a.closed; // the relay let go of the socket once it heard nothing for linkDeadMs
      await until('the provider cleared its input buffer', () => seen.get(id)!.includes('input_audio_buffer.cleared'));
      await sleep(SILENCE_MS + 600);
      expect(seen.get(id)!.filter((t) => t === 'input_audio_buffer.committed' || t === 'input_audio_buffer.speech_stopped' || t === 'response.created')).toEqual([]);
      const b = await AppLinkTestClient.connect(fast.wsUrl, await fast.mint('turns-silent'), { token: a.session!.resume_token, received: a.received });
      await b.waitFor('earshot.input_cut');
      await b.close();
    } finally {
      await fast.stop();
    }
  }, 60_000);
});
