// Hands-free turns over emulated phone links (issue 12): Chromium with the production build in one network
// namespace, the real relay and simulator in another, every packet through the link emulator (e2e/netem).
// Short form for CI; `npm run bench:mobile` runs the same profiles longer and measures them. Assertions are on
// behaviour only: turns complete and every reply is heard, on every link.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { speechWav } from './audio-fixtures.ts';
import { PROFILES, type ProfileName } from './netem/profiles.ts';
import { pageEvents, startEngineOnPage, startPhoneLink, states, type PhoneLink } from './netem/phone-link.ts';

const TURNS = 2;
let link: PhoneLink;
let wav: string;

beforeAll(async () => {
  // A short utterance with long pauses: each loop of the fake microphone is one clean turn.
  wav = speechWav('One, two, three, four.', { rate: 48_000, padSeconds: 2.5, name: 'mobile-turn' });
  link = await startPhoneLink({ link: PROFILES['good-4g'].link });
});

afterAll(async () => {
  await link?.close();
});

describe.each<ProfileName>(['good-4g', 'poor-4g', 'weak-3g'])('over %s', (name) => {
  const profile = PROFILES[name];
  it(`${profile.title}: turns complete and every reply is heard`, { timeout: 90_000 }, async () => {
    link.emulator.setProfile(profile.link);
    const mark = link.relay.reports.length;
    const before = { up: link.emulator.model.counters.up.deliveredBytes, down: link.emulator.model.counters.down.deliveredBytes };
    const browser = await link.launchBrowser(wav);
    try {
      const page = await browser.newPage();
      await startEngineOnPage(page, link.relay);
      // `turn-latency` is the engine's own report that the first sample of a reply was played.
      await page.waitForFunction((n) => window.lab.events.filter((e) => e.kind === 'turn-latency').length >= n, TURNS, { timeout: 75_000, polling: 200 });
      // …and the replies' transcripts are complete (the provider has finished those responses).
      await page.waitForFunction((n) => window.lab.events.filter((e) => e.kind === 'transcript' && e.role === 'assistant' && e.final).length >= n, TURNS, { timeout: 30_000, polling: 200 });
      const events = await pageEvents(page);
      const stats = await page.evaluate(() => window.lab.engine()!.debugStats());
      await page.evaluate(() => window.lab.stopEngine());
      const provider = link.relay.reports.slice(mark);
      const kinds = states(events).map((s) => s.kind);
      console.log(
        `${name}: states ${kinds.join(' > ')}; turn latencies ${events.flatMap((e) => (e.kind === 'turn-latency' ? [Math.round(e.ms)] : [])).join(', ')} ms; ` +
          `link up ${link.emulator.model.counters.up.deliveredBytes - before.up} B, down ${link.emulator.model.counters.down.deliveredBytes - before.down} B`,
      );
      // The provider took the turns and answered them…
      const served = (type: string) => link.relay.reports.slice(mark).filter((r) => r.ev === 'server' && r.type === type).length;
      await expect.poll(() => served('input_audio_buffer.committed')).toBeGreaterThanOrEqual(TURNS);
      await expect.poll(() => served('response.done')).toBeGreaterThanOrEqual(TURNS);
      // …and the page played the answers: transcripts of each reply, sound on the output.
      const replies = events.filter((e) => e.kind === 'transcript' && e.role === 'assistant' && e.final);
      expect(replies.length).toBeGreaterThanOrEqual(TURNS);
      expect(events.some((e) => e.kind === 'level' && e.output > 0.01)).toBe(true);
      expect(stats.loopback?.inbound.totalAudioEnergy ?? 0).toBeGreaterThan(0);
      // One provider session, no errors, no link trouble on a merely slow or lossy link.
      expect(provider.filter((r) => r.ev === 'upstream-open')).toHaveLength(1);
      expect(kinds).not.toContain('error');
      expect(events.filter((e) => e.kind === 'notice')).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
