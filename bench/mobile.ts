// `npm run bench:mobile`: issue 12's phone links, run longer than the CI tests (e2e/mobile-*.e2e.test.ts), and
// measured. Chromium (production build, audio-lab page = the app's engine) in one network namespace, the real relay
// and simulator in another, every packet through the link emulator (e2e/netem). Needs root, like the tests.
//
// Where each figure comes from:
// - bandwidth: IP bytes the emulator delivered each way during a hands-free conversation on good 4G / the run time:
//   the conversation's WebSocket connection (TCP/IP included) and, beside it, all traffic with the page load; where
//   the bytes go, category by category, comes from the same packets (e2e/netem/wire-tally.ts);
// - end of speech → first audio: the phone's clock. The fake microphone's file starts when getUserMedia opens it
//   and loops, so the end of each utterance is known on the page's clock from the file itself; the engine's
//   `turn-latency` event marks the first sample played. (±~30 ms: the fake device's clock is not the page's.)
// - playback gaps: the engine's own underrun count, if debugStats() has one (today's playback worklet cannot
//   report underruns, issue 12), otherwise "n/a";
// - upload lag: each utterance's start on the phone's wall clock → the provider's first speech_started for it (the
//   provider's VAD adds a few ms), matched in order (restarts within 3 s are the same utterance);
// - outage: link back → first sound on the page's output afterwards; spurious turns = provider commits beyond the
//   one the user asked for;
// - silent drop / address change: break → the app's next TCP SYN at the emulator; same provider session = the
//   relay opened no second upstream.
// Time per profile: BENCH_MOBILE_SECONDS (default 60) for the steady links; the disruptions run until done.
import type { Page } from 'playwright-core';
import { speechWav } from '../e2e/audio-fixtures.ts';
import { conversationWav, speechSpans, wavSeconds } from '../e2e/netem/conversation-wav.ts';
import { PROFILES, type PhoneProfile } from '../e2e/netem/profiles.ts';
import { micStarted, pageEvents, pageNow, startEngineOnPage, startPhoneLink, waitForState, type PhoneLink, type TimedEngineEvent } from '../e2e/netem/phone-link.ts';
import type { ProviderReport } from '../e2e/netem/relay-in-namespace.ts';
import { WireTally, wireGroup } from '../e2e/netem/wire-tally.ts';
import { ensurePwaBuilt } from '../relay/src/testing/build-pwa.ts';
import { percentile } from './stats.ts';

/** speech_started events closer than this belong to one utterance (the fake mic speaks every ~7.6 s). */
const SAME_UTTERANCE_MS = 3_000;
/** The app's turn_detection.silence_duration_ms (client/src/session/worker/session-update.ts), the provider's default. */
const VAD_SILENCE_MS = 500;
const SECONDS = Number(process.env.BENCH_MOBILE_SECONDS ?? 60);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => (xs.length === 0 ? Number.NaN : percentile([...xs].sort((a, b) => a - b), 50));
const fmt = (x: number, digits = 0) => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');

interface SteadyRun {
  profile: PhoneProfile;
  seconds: number;
  kbitUp: number;
  kbitDown: number;
  /** Phone-clock end of speech → first sample played, per reply (ms). */
  endToFirstAudio: number[];
  /** The engine's own read-out for the same replies (ms). */
  readOut: number[];
  /** Underruns per reply (median, max), when the engine reports underruns at all. */
  gapsPerReply: { median: number; max: number } | null;
  /** Phone speech start → provider speech_started, per utterance (ms). */
  uploadLag: number[];
  replies: number;
  /** Every delivered byte of the run, by what it carried (e2e/netem/wire-tally.ts). */
  wire: WireTally;
  /** End of speech → first audio split at the provider's events, per reply (ms, wall clock of this machine). */
  split: LatencySplit[];
}

interface LatencySplit {
  /** Phone's end of speech → the provider's speech_stopped: its VAD window + how far its audio lags the phone. */
  toSpeechStopped: number;
  /** speech_stopped → the provider's first audio delta (the simulator's response start). */
  toFirstDelta: number;
  /** First audio delta leaves the provider → first sample played: relay encode, downlink, jitter buffer, worklet. */
  toPlayed: number;
}

/** Finds a numeric field whose name matches `name` anywhere in the debug stats (their shape grows with the engine). */
function findCounter(value: unknown, name: RegExp): number | null {
  if (value === null || typeof value !== 'object') return null;
  for (const [key, v] of Object.entries(value)) {
    if (typeof v === 'number' && name.test(key)) return v;
    const inner = findCounter(v, name);
    if (inner !== null) return inner;
  }
  return null;
}

/**
 * Playback gaps per reply from the engine's `link` health events (their running underrun count), each gap counted
 * against the reply whose first sample played last before it. Null when the engine sends no such events.
 */
function replyGaps(events: TimedEngineEvent[], replies: TimedEngineEvent[]): { median: number; max: number } | null {
  const steps = events.flatMap((e) => {
    const x = e as unknown as { kind: string; health?: { underruns?: unknown } };
    return x.kind === 'link' && typeof x.health?.underruns === 'number' ? [{ t: e.t, n: x.health.underruns }] : [];
  });
  if (steps.length === 0 || replies.length === 0) return null;
  const countAt = (t: number) => steps.filter((s) => s.t <= t).at(-1)?.n ?? 0;
  const per = replies.map((r, k) => countAt(replies[k + 1]?.t ?? Infinity) - countAt(r.t));
  return { median: median(per), max: Math.max(...per) };
}

function totalGaps(total: number | null, replies: number): { median: number; max: number } | null {
  return total === null || replies === 0 ? null : { median: total / replies, max: Number.NaN };
}

async function steady(link: PhoneLink, profile: PhoneProfile, seconds: number): Promise<SteadyRun> {
  const wav = speechWav('One, two, three, four.', { rate: 48_000, padSeconds: 2.5, name: 'mobile-turn' });
  const loopMs = wavSeconds(wav) * 1000;
  const span = speechSpans(wav)[0]!;
  link.emulator.setProfile(profile.link);
  const mark = link.relay.reports.length;
  const browser = await link.launchBrowser(wav);
  try {
    const page = await browser.newPage();
    const wire = new WireTally();
    const untap = link.emulator.tap((direction, packet) => wire.packet(direction, packet));
    const c0 = structuredClone(link.emulator.model.counters);
    const t0 = link.emulator.now();
    await startEngineOnPage(page, link.relay);
    await sleep(seconds * 1000);
    const events = await pageEvents(page);
    const stats = await page.evaluate(() => window.lab.engine()!.debugStats());
    const mic = await micStarted(page);
    const elapsed = (link.emulator.now() - t0) / 1000;
    const c1 = structuredClone(link.emulator.model.counters);
    untap();
    await page.evaluate(() => window.lab.stopEngine());
    const latencies = events.flatMap((e) => (e.kind === 'turn-latency' ? [e] : []));
    const endToFirstAudio = mic
      ? latencies.map((e) => {
          const sinceMic = e.t - mic.t;
          // The latest utterance end before the first sample played.
          const k = Math.floor((sinceMic - span.end * 1000) / loopMs);
          return sinceMic - (k * loopMs + span.end * 1000);
        })
      : [];
    // One utterance may start speech more than once (a pause inside it, a clean cut): keep the first start of each
    // burst, so the k-th start is the k-th loop's utterance however far behind the upload is.
    const started = link.relay.reports
      .slice(mark)
      .flatMap((r) => (r.ev === 'server' && r.type === 'input_audio_buffer.speech_started' ? [r.wall] : []))
      .filter((wall, i, all) => i === 0 || wall - all[i - 1]! > SAME_UTTERANCE_MS);
    const uploadLag = mic ? started.map((wall, k) => wall - (mic.wall + k * loopMs + span.start * 1000)) : [];
    // The page's performance.now() on the machine's wall clock (the relay's reports carry Date.now()).
    const pageWall = (t: number) => (mic ? mic.wall + (t - mic.t) : Number.NaN);
    const provider = link.relay.reports.slice(mark);
    const split = mic
      ? latencies.flatMap((e, k) => {
          const played = pageWall(e.t);
          const end = played - endToFirstAudio[k]!;
          const stopped = provider.find((r) => r.ev === 'server' && r.type === 'input_audio_buffer.speech_stopped' && r.wall > end && r.wall < played);
          const delta = provider.find((r) => r.ev === 'first-audio' && stopped !== undefined && r.wall >= (stopped as { wall: number }).wall && r.wall < played);
          if (!stopped || stopped.ev !== 'server' || !delta || delta.ev !== 'first-audio') return [];
          return [{ toSpeechStopped: stopped.wall - end, toFirstDelta: delta.wall - stopped.wall, toPlayed: played - delta.wall }];
        })
      : [];
    const gapsPerReply = replyGaps(events, latencies) ?? totalGaps(findCounter(stats, /underrun/i), latencies.length);
    return {
      profile,
      seconds: elapsed,
      kbitUp: ((c1.up.deliveredBytes - c0.up.deliveredBytes) * 8) / elapsed / 1000,
      kbitDown: ((c1.down.deliveredBytes - c0.down.deliveredBytes) * 8) / elapsed / 1000,
      endToFirstAudio,
      readOut: latencies.map((e) => e.ms),
      gapsPerReply,
      uploadLag,
      replies: latencies.length,
      wire,
      split,
    };
  } finally {
    await browser.close();
  }
}

const LONG_REQUEST = 'I would like a long answer today, so please repeat everything I say, slowly and clearly.';
const count = (reports: ProviderReport[], type: string) => reports.filter((r) => r.ev === 'server' && r.type === type).length;

interface DisruptionRun {
  profile: PhoneProfile;
  /** outage: link back → sound again; drops: break → the app's new connection (ms), null = never within the wait. */
  recoveryMs: number | null;
  /** drops only: new connection → sound again (ms). */
  soundAfterReconnectMs: number | null;
  /** outage only: link back → the phone's first SYN that got through (ms): how much of recoveryMs is reconnect timing. */
  firstSynAfterMs: number | null;
  spuriousTurns: number;
  providerSessions: number;
  responses: number;
}

function firstSoundAfter(events: TimedEngineEvent[], t: number): number | null {
  const e = events.find((x) => x.kind === 'level' && x.output > 0.01 && x.t > t);
  return e ? e.t - t : null;
}

async function disruption(link: PhoneLink, profile: PhoneProfile): Promise<DisruptionRun> {
  const parts =
    profile.event.kind === 'outage'
      ? [{ silenceSeconds: 0.5 }, { say: LONG_REQUEST }, { silenceSeconds: 6 }, { say: 'Hello? Are you still there?' }, { silenceSeconds: 50 }]
      : [{ silenceSeconds: 0.5 }, { say: LONG_REQUEST }, { silenceSeconds: 50 }];
  const wav = conversationWav(profile.event.kind === 'outage' ? 'mobile-outage' : 'mobile-one-request', parts);
  link.emulator.setProfile(profile.link);
  const mark = link.relay.reports.length;
  const browser = await link.launchBrowser(wav);
  try {
    const page: Page = await browser.newPage();
    await startEngineOnPage(page, link.relay);
    await waitForState(page, 'speaking', { timeoutMs: 40_000 });
    let recoveryMs: number | null = null;
    let soundAfterReconnectMs: number | null = null;
    let firstSynAfterMs: number | null = null;
    if (profile.event.kind === 'outage') {
      const backAt = link.emulator.now() + profile.event.ms;
      link.emulator.outage(profile.event.ms);
      const back = (await pageNow(page)) + profile.event.ms;
      await sleep(profile.event.ms + 20_000);
      recoveryMs = firstSoundAfter(await pageEvents(page), back);
      const syn = link.emulator.model.counters.up.syns.find((x) => x.at >= backAt && !x.dropped);
      firstSynAfterMs = syn ? syn.at - backAt : null;
    } else {
      const opened = link.emulator.model.counters.up.connectionsOpened;
      const brokeAt = link.emulator.now();
      if (profile.event.kind === 'black-hole') link.emulator.blackholeLiveConnection();
      else link.emulator.changeBrowserAddress();
      const deadline = brokeAt + 75_000;
      while (link.emulator.model.counters.up.connectionsOpened === opened && link.emulator.now() < deadline) await sleep(20);
      if (link.emulator.model.counters.up.connectionsOpened > opened) {
        recoveryMs = link.emulator.now() - brokeAt;
        const reconnected = await pageNow(page);
        await sleep(15_000);
        soundAfterReconnectMs = firstSoundAfter(await pageEvents(page), reconnected);
      }
    }
    await page.evaluate(() => window.lab.stopEngine());
    const provider = link.relay.reports.slice(mark);
    return {
      profile,
      recoveryMs,
      soundAfterReconnectMs,
      firstSynAfterMs,
      spuriousTurns: Math.max(0, count(provider, 'input_audio_buffer.committed') - 1),
      providerSessions: provider.filter((r) => r.ev === 'upstream-open').length,
      responses: count(provider, 'response.created'),
    };
  } finally {
    await browser.close();
  }
}

/** Figures this bench measured on main before the earshot.v2 link (2026-12-01, earshot.v1 app, 60 s runs). */
const BEFORE = {
  bandwidth: '569 kbit/s (up 359, down 210)',
  poor4g: '772 ms (1019) over 8 replies; app read-out 34 ms',
  gaps: 'n/a (no underrun signal)',
  weak3g: '772 → 15578 → 13573 ms',
  outage: '2588 ms (TCP retransmission); 1 spurious turn',
  drop: 'not detected in 75 s',
};

function table(good: SteadyRun, poor: SteadyRun, weak: SteadyRun, outage: DisruptionRun, hole: DisruptionRun, moved: DisruptionRun): string {
  const lagStart = weak.uploadLag[0] ?? Number.NaN;
  const lagMax = weak.uploadLag.length > 0 ? Math.max(...weak.uploadLag) : Number.NaN;
  const lagEnd = weak.uploadLag.at(-1) ?? Number.NaN;
  const drop = (d: DisruptionRun) =>
    d.recoveryMs === null
      ? 'not detected in 75 s'
      : `detected ${fmt(d.recoveryMs)} ms, ${d.providerSessions === 1 ? 'same' : `${d.providerSessions}`} provider session${d.providerSessions === 1 ? '' : 's'}, sound ${d.soundAfterReconnectMs === null ? 'never' : `${fmt(d.soundAfterReconnectMs)} ms`} after reconnect`;
  const rows = [
    [
      'phone-link bandwidth, hands-free, up+down average',
      '≤ 48 kbit/s',
      BEFORE.bandwidth,
      `${fmt(conversationKbit(good, 'up') + conversationKbit(good, 'down'), 1)} kbit/s on the conversation's connection (up ${fmt(conversationKbit(good, 'up'), 1)}, down ${fmt(conversationKbit(good, 'down'), 1)}); all IP traffic incl. the page load ${fmt(good.kbitUp + good.kbitDown, 1)} (up ${fmt(good.kbitUp, 1)}, down ${fmt(good.kbitDown, 1)}); good 4G, ${fmt(good.seconds)} s`,
    ],
    [
      'poor 4G: end of speech → first audio, median (max)',
      '≤ 900 ms',
      BEFORE.poor4g,
      `${fmt(median(poor.endToFirstAudio))} ms (${fmt(Math.max(...poor.endToFirstAudio))}) over ${poor.replies} replies; app read-out ${fmt(median(poor.readOut))} ms`,
    ],
    ['poor 4G: playback gaps per reply', '≤ 1', BEFORE.gaps, poor.gapsPerReply === null ? 'n/a (the engine reports no underruns)' : `median ${fmt(poor.gapsPerReply.median, 1)}, max ${fmt(poor.gapsPerReply.max)}`],
    ['weak 3G: upload lag over the run (first → max → last)', '< 1 s throughout', BEFORE.weak3g, `${fmt(lagStart)} → ${fmt(lagMax)} → ${fmt(lagEnd)} ms over ${weak.uploadLag.length} utterances; ${weak.replies} replies`],
    [
      '10 s outage mid-reply: link back → reply resumed; spurious turns',
      '≤ 2 s; 0',
      BEFORE.outage,
      `${outage.recoveryMs === null ? 'no sound' : `${fmt(outage.recoveryMs)} ms`} (first SYN through ${outage.firstSynAfterMs === null ? 'n/a' : `${fmt(outage.firstSynAfterMs)} ms`} after); ${outage.spuriousTurns} spurious turn${outage.spuriousTurns === 1 ? '' : 's'} (${outage.responses} responses, ${outage.providerSessions} provider session)`,
    ],
    ['silent drop (black hole): detected; same provider session', '≤ 3 s; yes', BEFORE.drop, drop(hole)],
    ['address change: detected; same provider session', '≤ 3 s; yes', BEFORE.drop, drop(moved)],
    ['relay cost of transcoding', 'per Opus session-minute', '—', 'see bench:relay (not measured here)'],
  ];
  return ['| target | goal | before (earshot.v1) | measured now |', '|---|---|---|---|', ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

/** Where end of speech → first audio goes, medians of the per-reply split. */
function splitLine(run: SteadyRun): string {
  const m = (f: (s: LatencySplit) => number) => fmt(median(run.split.map(f)));
  return `${run.profile.name} end of speech → first audio ${fmt(median(run.endToFirstAudio))} ms median = phone end of speech → provider speech_stopped ${m((s) => s.toSpeechStopped)} (of which the provider's VAD silence window ${VAD_SILENCE_MS}, the rest uplink network + the relay's DTX fill and coalescing) + speech_stopped → first audio delta ${m((s) => s.toFirstDelta)} (the simulator's response start) + first delta → first sample played ${m((s) => s.toPlayed)} (relay encode, downlink, jitter buffer, worklet); ${run.split.length} replies`;
}

/**
 * kbit/s of everything but the page load: the WebSocket's bytes with its TCP/IP headers and ACKs. The page, its
 * assets and the session check are fetched once per visit (the service worker keeps the app), so over a 40 s run
 * they would weigh 8 kbit/s that a longer conversation does not pay; they are shown beside it, not hidden.
 */
function conversationKbit(run: SteadyRun, direction: 'up' | 'down'): number {
  return ((run.wire.total(direction) - (run.wire[direction].bytes.get('http') ?? 0)) * 8) / run.seconds / 1000;
}

/** The bytes breakdown of one steady run: each group's share of the link, per direction, in kbit/s of the run. */
function wireTable(run: SteadyRun): string {
  const groups = new Map<string, { up: number; down: number }>();
  for (const direction of ['up', 'down'] as const)
    for (const [category, bytes] of run.wire[direction].bytes) {
      const g = groups.get(wireGroup(category)) ?? { up: 0, down: 0 };
      g[direction] += bytes;
      groups.set(wireGroup(category), g);
    }
  const kbit = (bytes: number) => fmt((bytes * 8) / run.seconds / 1000, 2);
  const upTotal = run.wire.total('up');
  const downTotal = run.wire.total('down');
  const rows = [...groups].sort((a, b) => b[1].up + b[1].down - (a[1].up + a[1].down));
  const frames = (d: 'up' | 'down') => {
    const t = run.wire[d];
    return `${t.packets} packets; text frames ${t.textFrames} (${t.compressedTextFrames} compressed, ${t.textPlainBytes} B before), binary ${t.binaryFrames} (${t.compressedBinaryFrames} compressed)`;
  };
  return [
    `bytes on the link, ${run.profile.name}, ${fmt(run.seconds)} s (IP packets delivered; kbit/s over the run):`,
    '| what | up B | up kbit/s | down B | down kbit/s | share of up+down |',
    '|---|---|---|---|---|---|',
    ...rows.map(([name, g]) => `| ${name} | ${g.up} | ${kbit(g.up)} | ${g.down} | ${kbit(g.down)} | ${fmt((100 * (g.up + g.down)) / (upTotal + downTotal), 1)} % |`),
    `| total | ${upTotal} | ${kbit(upTotal)} | ${downTotal} | ${kbit(downTotal)} | 100 % |`,
    `up: ${frames('up')}`,
    `down: ${frames('down')}`,
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  ensurePwaBuilt();
  const link = await startPhoneLink({ link: PROFILES['good-4g'].link, seed: 12 });
  // BENCH_MOBILE_ONLY=good-4g,poor-4g: just those steady links (their bytes and latency), for trying a change.
  const only = process.env.BENCH_MOBILE_ONLY?.split(',').filter((x) => x.length > 0);
  if (only) {
    try {
      for (const name of only) {
        const profile = PROFILES[name as keyof typeof PROFILES];
        if (!profile || profile.event.kind !== 'none') throw new Error(`BENCH_MOBILE_ONLY: ${name} is not a steady profile`);
        const run = await steady(link, profile, SECONDS);
        console.log(wireTable(run));
        console.log(splitLine(run));
        console.log(
          `${name}: conversation ${fmt(conversationKbit(run, 'up') + conversationKbit(run, 'down'), 1)} kbit/s (up ${fmt(conversationKbit(run, 'up'), 1)}, down ${fmt(conversationKbit(run, 'down'), 1)}), all ${fmt(run.kbitUp + run.kbitDown, 1)} kbit/s (up ${fmt(run.kbitUp, 1)}, down ${fmt(run.kbitDown, 1)}); end of speech → first audio median ${fmt(median(run.endToFirstAudio))} ms (max ${fmt(Math.max(...run.endToFirstAudio))}) over ${run.replies} replies; gaps ${JSON.stringify(run.gapsPerReply)}; upload lag ${run.uploadLag.map((x) => fmt(x)).join(' ')} ms; end → audio ${run.endToFirstAudio.map((x) => fmt(x)).join(' ')} ms`,
        );
      }
    } finally {
      await link.close();
    }
    process.exit(0);
  }
  try {
    const good = await steady(link, PROFILES['good-4g'], SECONDS);
    console.error(`good 4G: ${JSON.stringify({ ...good, profile: undefined, wire: undefined })}`);
    const poor = await steady(link, PROFILES['poor-4g'], SECONDS);
    console.error(`poor 4G: ${JSON.stringify({ ...poor, profile: undefined, wire: undefined })}`);
    const weak = await steady(link, PROFILES['weak-3g'], Math.round(SECONDS * 1.5));
    console.error(`weak 3G: ${JSON.stringify({ ...weak, profile: undefined, wire: undefined })}`);
    const outage = await disruption(link, PROFILES.outage);
    console.error(`outage: ${JSON.stringify({ ...outage, profile: undefined })}`);
    const hole = await disruption(link, PROFILES['black-hole']);
    console.error(`black hole: ${JSON.stringify({ ...hole, profile: undefined })}`);
    const moved = await disruption(link, PROFILES['address-change']);
    console.error(`address change: ${JSON.stringify({ ...moved, profile: undefined })}`);
    console.log(table(good, poor, weak, outage, hole, moved));
    for (const run of [good, poor, weak]) console.log(`\n${wireTable(run)}\n${splitLine(run)}`);
    console.log(`good 4G end of speech → first audio median ${fmt(median(good.endToFirstAudio))} ms (app read-out ${fmt(median(good.readOut))} ms)`);
  } finally {
    await link.close();
  }
}
