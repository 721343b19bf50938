// What a phone's link does mid-reply, through the link emulator (e2e/netem): a 10 s outage, a silent drop of the
// live connection (black hole), and an address change. Chromium with the production build in one namespace, the
// real relay and simulator in the other. Short form for CI; `npm run bench:mobile` measures the same events.
//
// The microphone says one long sentence, so the reply (its echo) is still arriving when the link breaks. Behaviour
// asserted (issue 12, "Resume across link changes" and "Fresh audio first"):
// - outage: the reply goes on after the link returns (sound on the output after the outage), it is the same
//   response on the same provider session, and what the user said during the outage never becomes a turn;
// - black hole / address change: the app notices the dead link by itself (it opens a new connection), and the reply
//   goes on from the same provider session.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { PROFILES } from './netem/profiles.ts';
import { conversationWav } from './netem/conversation-wav.ts';
import { pageEvents, pageNow, startEngineOnPage, startPhoneLink, states, waitForState, type PhoneLink, type TimedEngineEvent } from './netem/phone-link.ts';
import type { ProviderReport } from './netem/relay-in-namespace.ts';

const LONG_REQUEST = 'I would like a long answer today, so please repeat everything I say, slowly and clearly.';
let link: PhoneLink;

beforeAll(async () => {
  link = await startPhoneLink({ link: PROFILES.outage.link });
});

afterAll(async () => {
  await link?.close();
});

const count = (reports: ProviderReport[], type: string) => reports.filter((r) => r.ev === 'server' && r.type === type).length;
const soundAfter = (events: TimedEngineEvent[], t: number) => events.some((e) => e.kind === 'level' && e.output > 0.01 && e.t > t);

/** Starts the engine on a fresh browser and resolves once the reply is audibly playing; returns the page and a mark. */
async function untilReplyPlays(wav: string): Promise<{ page: Page; mark: number; speakingAt: number; close: () => Promise<void> }> {
  const mark = link.relay.reports.length;
  const browser = await link.launchBrowser(wav);
  const page = await browser.newPage();
  await startEngineOnPage(page, link.relay);
  const speakingAt = await waitForState(page, 'speaking', { timeoutMs: 40_000 });
  return { page, mark, speakingAt, close: () => browser.close() };
}

/**
 * Waits until assistant audio has played after page time `since` and the engine has gone back to listening after
 * that sound (the reply is over). Whatever states the engine passes through while it reconnects do not matter.
 */
async function untilReplyEnds(page: Page, since: number, timeoutMs: number): Promise<void> {
  await page.waitForFunction(
    (t) => {
      const times = (window as unknown as { labTimes: number[] }).labTimes;
      const events = window.lab.events;
      const sound = events.findIndex((e, i) => e.kind === 'level' && e.output > 0.01 && (times[i] ?? 0) > t);
      if (sound < 0) return false;
      const last = events.findLast((e) => e.kind === 'state');
      const lastAt = times[events.lastIndexOf(last!)] ?? 0;
      return last?.kind === 'state' && last.state.kind === 'listening' && lastAt > times[sound]!;
    },
    since,
    { timeout: timeoutMs, polling: 200 },
  );
}

describe('phone link disruptions mid-reply', () => {
  it('10 s outage: the reply resumes after the link returns, and speech during the outage never becomes a turn', { timeout: 120_000 }, async () => {
    link.emulator.setProfile(PROFILES.outage.link);
    // The user asks, the reply starts, the link goes down, the user says something while it is down. The question
    // comes 6 s after the request: the outage starts when the reply is first heard (≥ 0.8 s after the request, up
    // to ~3 s on a loaded machine), so it is well inside the outage and never a barge-in on the live link.
    const wav = conversationWav('mobile-outage', [{ silenceSeconds: 0.5 }, { say: LONG_REQUEST }, { silenceSeconds: 6 }, { say: 'Hello? Are you still there?' }, { silenceSeconds: 40 }]);
    const run = await untilReplyPlays(wav);
    try {
      const outageMs = PROFILES.outage.event.kind === 'outage' ? PROFILES.outage.event.ms : 10_000;
      const outageAt = link.emulator.now();
      link.emulator.outage(outageMs);
      const linkBack = (await pageNow(run.page)) + outageMs;
      await untilReplyEnds(run.page, linkBack, 60_000);
      await new Promise((r) => setTimeout(r, 2_000)); // room for stale audio to turn into a turn, if it were going to
      const events = await pageEvents(run.page);
      const provider = link.relay.reports.slice(run.mark);
      const syns = link.emulator.model.counters.up.syns.filter((x) => x.at >= outageAt).map((x) => `${Math.round(x.at - outageAt - outageMs)}${x.dropped ? 'x' : ''}→:${x.dstPort}`);
      console.log(`outage: the phone's SYNs, ms from link back (x: lost in the outage): ${syns.join(' ')}`);
      console.log(`outage: states ${states(events).map((s) => `${s.kind}@${Math.round(s.t - run.speakingAt)}`).join(' > ')} (ms from first speaking; link back at ${Math.round(linkBack - run.speakingAt)})`);
      expect(link.emulator.model.counters.down.drops.outage).toBeGreaterThan(0);
      expect(soundAfter(events, linkBack)).toBe(true);
      expect(count(provider, 'response.created')).toBe(1);
      expect(count(provider, 'input_audio_buffer.committed')).toBe(1);
      expect(count(provider, 'input_audio_buffer.speech_started')).toBe(1);
      expect(provider.filter((r) => r.ev === 'upstream-open')).toHaveLength(1);
      expect(events.filter((e) => e.kind === 'transcript' && e.role === 'user' && e.final)).toHaveLength(1);
    } finally {
      await run.close();
    }
  });

  const silentDrops = [
    { name: 'black hole', profile: PROFILES['black-hole'], break: () => expect(link.emulator.blackholeLiveConnection()).toMatch(/^tcp /) },
    { name: 'address change', profile: PROFILES['address-change'], break: () => void link.emulator.changeBrowserAddress() },
  ];
  it.each(silentDrops)('$name: the dead link is noticed by the app, and the reply goes on from the same provider session', { timeout: 120_000 }, async (c) => {
    link.emulator.setProfile(c.profile.link);
    const wav = conversationWav('mobile-one-request', [{ silenceSeconds: 0.5 }, { say: LONG_REQUEST }, { silenceSeconds: 40 }]);
    const run = await untilReplyPlays(wav);
    try {
      const opened = link.emulator.model.counters.up.connectionsOpened;
      c.break();
      // Nobody tells the app: it has to find out by itself and connect again.
      await expect.poll(() => link.emulator.model.counters.up.connectionsOpened, { timeout: 30_000, interval: 100 }).toBeGreaterThan(opened);
      const reconnectedAt = await pageNow(run.page);
      await untilReplyEnds(run.page, reconnectedAt, 60_000);
      const events = await pageEvents(run.page);
      const provider = link.relay.reports.slice(run.mark);
      console.log(`${c.name}: states ${states(events).map((s) => `${s.kind}@${Math.round(s.t - run.speakingAt)}`).join(' > ')} (ms from first speaking; new connection at ${Math.round(reconnectedAt - run.speakingAt)})`);
      expect(soundAfter(events, reconnectedAt)).toBe(true);
      expect(provider.filter((r) => r.ev === 'upstream-open')).toHaveLength(1);
      expect(count(provider, 'response.created')).toBe(1);
      expect(states(events).map((s) => s.kind)).not.toContain('error');
    } finally {
      await run.close();
    }
  });
});
