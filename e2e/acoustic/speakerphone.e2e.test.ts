// Issue 15, the short form of the acoustic bench (the sweep is `npm run bench:echo`): Chromium on a software
// speakerphone (echo-rig.ts) — its output comes back into its microphone ~40 ms late, and it captures that for real
// with its echo canceller on. With the app as it ships (playback through the WebRTC loopback, the barge-in guard
// on) the assistant must not interrupt itself, and the user must still be able to interrupt it.
//
// The level is the loud case: the speaker heard at the microphone as loud as it played, so the echo is about as
// loud as the user's voice there (bench:echo, README "Speakerphone echo"). That is where the app used to interrupt
// itself — at the onset of a reply, Chromium's canceller lets 60–100 ms of echo through before it adapts — until
// the guard's 7-of-10 rule (barge-in-guard.ts). The conversation's first reply, in this fresh browser whose canceller
// has never heard a far end, leaked in 3 of 6 runs even so (its echo came through for 7–8 frames, 0.6 s in) until
// the guard asked for 12 of 14 just after a voice onset in what the app played (echo-onset.ts); it is asserted
// again. The reply after the barge-in is logged, not asserted.
// SPEAKERPHONE_CONTROL=1 runs the same test with the canceller and the guard off, to see that it can fail (it must).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startEchoRig, type Conversation, type EchoRig } from './echo-rig.ts';
import { pageReport } from '../engines/page-report.ts';

/** A loud speaker: heard at the microphone at the level it played, 40 ms after. */
const LOUD = { gainDb: 0, delayMs: 40 };

describe('a speakerphone in Chromium (echo as loud as what was played, 40 ms late)', () => {
  let rig: EchoRig;
  let conversation: Conversation | null = null;

  beforeAll(async () => {
    rig = await startEchoRig();
    await rig.speakerphone.set(LOUD);
  });
  afterAll(async () => {
    await rig?.close();
  });
  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail' && conversation) {
      console.error(`"${ctx.task.name}" failed; the page showed:\n${await pageReport(conversation.page, rig.log().filter((l) => l.dir === 'up').map((l) => l.type))}`);
      console.error(rig.log().map((l) => `${l.at} ${l.dir} ${l.type}`).join('\n'));
    }
  });

  it('answers each spoken turn exactly once, its first reply included, never cut by its own voice, and a user talking over a reply cuts it', async () => {
    const opened = rig.now();
    conversation = await rig.open(process.env.SPEAKERPHONE_CONTROL === '1' ? { playback: 'loopback', guard: false, canceller: false } : { playback: 'loopback', guard: true });
    // The conversation's first reply: the canceller has heard no far end yet.
    const first = await conversation.turn();
    const firstTurn = rig.summarize(opened, rig.now(), LOUD);
    console.log(`[speakerphone] first reply of the conversation: ${first.replies} response(s) to one turn, ${JSON.stringify(firstTurn)}`);
    expect(first.replies).toBe(1);
    expect(firstTurn.falseTurns).toBe(0);
    expect(firstTurn.selfCuts).toBe(0);
    const from = rig.now();
    // Two spoken turns: one reply each, heard to the end.
    expect((await conversation.turn()).replies).toBe(1);
    expect((await conversation.turn()).replies).toBe(1);
    const turns = rig.summarize(from, rig.now(), LOUD);
    console.log(`[speakerphone] 2 turns: ${JSON.stringify(turns)}`);
    // The echo really was there, about as loud as the user (measured −3…+1.3 dB at this gain).
    expect(turns.assistantOnlyMs).toBeGreaterThan(3000);
    expect(turns.userTurns).toBe(2);
    expect(turns.echoToUserDb).not.toBeNull();
    expect(turns.echoToUserDb!).toBeGreaterThan(-6);
    expect(turns.echoToUserDb!).toBeLessThan(5);
    // The assistant's voice opened no turn at the provider and cut no reply.
    expect(turns.falseTurns).toBe(0);
    expect(turns.selfCuts).toBe(0);
    // The user talks over a long reply: it is cut.
    const barge = await conversation.bargeIn();
    console.log(`[speakerphone] barge-in: ${JSON.stringify(barge)}`);
    expect(barge.caught).toBe(true);
    const all = rig.summarize(opened, rig.now(), LOUD);
    console.log(`[speakerphone] whole conversation (the reply after the barge-in included, not asserted): false turns ${all.falseTurns}, self-cuts ${all.selfCuts}, responses ${all.responses}, user turns ${all.userTurns}`);
    await conversation.stop();
  }, 150_000);
});
