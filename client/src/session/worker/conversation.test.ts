import { describe, expect, it } from 'vitest';
import type { ClientEvent, ServerEvent } from '../../../../protocol/realtime.ts';
import { decodeBase64, encodeBase64 } from '../../dsp/base64.ts';
import { floatToPcm16, pcm16ToFloat } from '../../dsp/pcm16.ts';
import type { EngineEvent } from '../engine-api.ts';
import { Conversation, contextCarryEvent, truncatePlan, type PlaybackReport } from './conversation.ts';

function harness(mode: 'hands-free' | 'hold-to-talk' = 'hands-free') {
  const sent: ClientEvent[] = [];
  const events: EngineEvent[] = [];
  const playback: string[] = [];
  let clock = 1000;
  let expired = 0;
  const convo = new Conversation(
    {
      send: (e) => sent.push(e),
      emit: (e) => events.push(e),
      playback: {
        enqueue: (item, s) => playback.push(`enqueue ${item} ${s.length}`),
        end: (item) => playback.push(`end ${item}`),
        flush: () => playback.push('flush'),
      },
      now: () => clock,
      onSessionExpired: () => expired++,
      activityChanged: (activity) => events.push({ kind: 'state', state: { kind: activity } }),
      decode: (b64) => pcm16ToFloat(decodeBase64(b64)),
    },
    mode,
  );
  convo.linkUp();
  const server = (e: Record<string, unknown>) => convo.onServerEvent({ event_id: 'ev', ...e } as unknown as ServerEvent);
  const play = (r: PlaybackReport) => convo.onPlayback(r);
  const states = () => events.filter((e) => e.kind === 'state').map((e) => (e as { state: { kind: string } }).state.kind);
  const sentTypes = () => sent.map((e) => e.type);
  return { convo, sent, events, playback, server, play, states, sentTypes, advance: (ms: number) => (clock += ms), expired: () => expired };
}

/** `ms` of 24 kHz audio as a base64 pcm16 delta. */
function delta(ms: number): string {
  return encodeBase64(floatToPcm16(new Float32Array((24_000 * ms) / 1000).fill(0.1)));
}

function assistantSpeaking(h: ReturnType<typeof harness>, receivedMs: number, playedMs: number) {
  h.server({ type: 'input_audio_buffer.speech_started', audio_start_ms: 0, item_id: 'u1' });
  h.server({ type: 'input_audio_buffer.speech_stopped', audio_end_ms: 900, item_id: 'u1' });
  h.server({ type: 'response.created', response: { id: 'r1' } });
  h.server({ type: 'response.output_audio.delta', response_id: 'r1', item_id: 'a1', output_index: 0, content_index: 0, delta: delta(receivedMs) });
  h.play({ kind: 'started', itemId: 'a1' });
  h.play({ kind: 'progress', itemId: 'a1', played: (48_000 * playedMs) / 1000, rate: 48_000 });
}

describe('Conversation', () => {
  it('walks a hands-free turn through listening, hearing, thinking, speaking and back to listening', () => {
    const h = harness();
    h.server({ type: 'input_audio_buffer.speech_started', audio_start_ms: 0, item_id: 'u1' });
    h.server({ type: 'input_audio_buffer.speech_stopped', audio_end_ms: 900, item_id: 'u1' });
    h.server({ type: 'response.created', response: { id: 'r1' } });
    h.server({ type: 'response.output_audio.delta', response_id: 'r1', item_id: 'a1', output_index: 0, content_index: 0, delta: delta(200) });
    h.advance(420);
    h.play({ kind: 'started', itemId: 'a1' });
    h.server({ type: 'response.output_audio.done', response_id: 'r1', item_id: 'a1', output_index: 0, content_index: 0 });
    h.server({ type: 'response.done', response: { id: 'r1', status: 'completed' } });
    h.play({ kind: 'drained', itemId: 'a1' });
    expect(h.states()).toEqual(['listening', 'hearing', 'thinking', 'speaking', 'listening']);
    expect(h.events).toContainEqual({ kind: 'turn-latency', ms: 420 });
    expect(h.playback).toEqual(['enqueue a1 4800', 'end a1']);
  });

  it('on barge-in flushes playback, cancels the response and truncates at the played position', () => {
    const h = harness();
    assistantSpeaking(h, 2000, 750);
    h.server({ type: 'input_audio_buffer.speech_started', audio_start_ms: 3000, item_id: 'u2' });
    expect(h.playback.at(-1)).toBe('flush');
    expect(h.sent).toContainEqual({ type: 'response.cancel', response_id: 'r1' });
    expect(h.sentTypes()).not.toContain('conversation.item.truncate'); // waits for the exact count
    h.play({ kind: 'flushed', items: [{ itemId: 'a1', played: 48_000 * 0.8005 }], rate: 48_000 });
    expect(h.sent.at(-1)).toEqual({ type: 'conversation.item.truncate', item_id: 'a1', content_index: 0, audio_end_ms: 800 });
    expect(h.states().at(-1)).toBe('hearing');
  });

  it('caps audio_end_ms at the audio actually received for the item', () => {
    const h = harness();
    assistantSpeaking(h, 400, 300);
    h.convo.interrupt();
    // The worklet played a little of the resampler's tail beyond the received audio.
    h.play({ kind: 'flushed', items: [{ itemId: 'a1', played: 48_000 * 0.45 }], rate: 48_000 });
    expect(h.sent.at(-1)).toMatchObject({ type: 'conversation.item.truncate', audio_end_ms: 400 });
  });

  it('sends NO truncate when nothing of the item was played yet', () => {
    const h = harness();
    h.server({ type: 'response.created', response: { id: 'r1' } });
    h.server({ type: 'response.output_audio.delta', response_id: 'r1', item_id: 'a1', output_index: 0, content_index: 0, delta: delta(40) });
    h.server({ type: 'input_audio_buffer.speech_started', audio_start_ms: 0, item_id: 'u2' });
    h.play({ kind: 'flushed', items: [{ itemId: 'a1', played: 0 }], rate: 48_000 });
    expect(h.sentTypes()).toEqual(['response.cancel']);
  });

  it('does not cancel or truncate when the assistant already finished and drained', () => {
    const h = harness();
    assistantSpeaking(h, 200, 200);
    h.server({ type: 'response.output_audio.done', response_id: 'r1', item_id: 'a1', output_index: 0, content_index: 0 });
    h.server({ type: 'response.done', response: { id: 'r1', status: 'completed' } });
    h.play({ kind: 'drained', itemId: 'a1' });
    h.server({ type: 'input_audio_buffer.speech_started', audio_start_ms: 0, item_id: 'u2' });
    expect(h.sent).toEqual([]);
    expect(h.playback).not.toContain('flush');
  });

  it('never plays audio that arrives for an item after the person talked over it', () => {
    const h = harness();
    assistantSpeaking(h, 200, 100);
    h.convo.interrupt();
    const before = h.playback.length;
    h.server({ type: 'response.output_audio.delta', response_id: 'r1', item_id: 'a1', output_index: 0, content_index: 0, delta: delta(200) });
    h.server({ type: 'response.output_audio.done', response_id: 'r1', item_id: 'a1', output_index: 0, content_index: 0 });
    expect(h.playback.length).toBe(before);
  });

  it('in hold-to-talk clears the buffer on press and commits plus asks for a response on release', () => {
    const h = harness('hold-to-talk');
    expect(h.convo.wantsAudio).toBe(false);
    h.convo.setTalking(true);
    expect(h.convo.wantsAudio).toBe(true);
    h.advance(1500);
    h.convo.setTalking(false);
    expect(h.convo.wantsAudio).toBe(false);
    expect(h.sentTypes()).toEqual(['input_audio_buffer.clear', 'input_audio_buffer.commit', 'response.create']);
    expect(h.states()).toEqual(['listening', 'hearing', 'thinking']);
  });

  it('ends the turn when the page loses its audio: the reply is cut and truncated, the unfinished words are cleared, not committed', () => {
    const h = harness();
    assistantSpeaking(h, 2000, 500);
    h.server({ type: 'input_audio_buffer.speech_started', audio_start_ms: 3000, item_id: 'u2' }); // the person talks over it
    h.play({ kind: 'flushed', items: [{ itemId: 'a1', played: 48_000 * 0.5 }], rate: 48_000 });
    h.convo.endTurn();
    expect(h.sentTypes()).toEqual(['response.cancel', 'conversation.item.truncate', 'input_audio_buffer.clear']);
    expect(h.states().at(-1)).toBe('listening');
    // Until the page is back, what the microphone still hears is not sent: it would start a turn nobody means.
    expect(h.convo.wantsAudio).toBe(false);
    h.convo.resumeListening();
    expect(h.convo.wantsAudio).toBe(true);
  });

  it('ends a held hold-to-talk turn without committing it, and the next press starts afresh', () => {
    const h = harness('hold-to-talk');
    h.convo.setTalking(true);
    h.convo.endTurn();
    expect(h.convo.wantsAudio).toBe(false);
    h.convo.setTalking(false); // the finger comes up after the lock: nothing to commit
    expect(h.sentTypes()).toEqual(['input_audio_buffer.clear', 'input_audio_buffer.clear']);
    expect(h.states().at(-1)).toBe('listening');
  });

  it('ignores hold-to-talk presses in hands-free mode', () => {
    const h = harness();
    h.convo.setTalking(true);
    h.convo.setTalking(false);
    expect(h.sent).toEqual([]);
  });

  it('reports the full transcript so far for each item, not deltas', () => {
    const h = harness();
    h.server({ type: 'conversation.item.input_audio_transcription.delta', item_id: 'u1', content_index: 0, delta: 'Hello ' });
    h.server({ type: 'conversation.item.input_audio_transcription.delta', item_id: 'u1', content_index: 0, delta: 'there' });
    h.server({ type: 'conversation.item.input_audio_transcription.completed', item_id: 'u1', content_index: 0, transcript: 'Hello there.' });
    h.server({ type: 'response.output_audio_transcript.delta', response_id: 'r1', item_id: 'a1', output_index: 0, content_index: 0, delta: 'Hi' });
    h.server({ type: 'response.output_audio_transcript.delta', response_id: 'r1', item_id: 'a1', output_index: 0, content_index: 0, delta: ' you' });
    const texts = h.events.filter((e) => e.kind === 'transcript');
    expect(texts).toEqual([
      { kind: 'transcript', role: 'user', itemId: 'u1', text: 'Hello ', final: false },
      { kind: 'transcript', role: 'user', itemId: 'u1', text: 'Hello there', final: false },
      { kind: 'transcript', role: 'user', itemId: 'u1', text: 'Hello there.', final: true },
      { kind: 'transcript', role: 'assistant', itemId: 'a1', text: 'Hi', final: false },
      { kind: 'transcript', role: 'assistant', itemId: 'a1', text: 'Hi you', final: false },
    ]);
    expect(h.convo.history()).toEqual([{ role: 'user', text: 'Hello there.' }, { role: 'assistant', text: 'Hi you' }]);
  });

  it('sends a text turn as a user message plus response.create', () => {
    const h = harness();
    h.convo.sendText('  What time is it?  ');
    expect(h.sentTypes()).toEqual(['conversation.item.create', 'response.create']);
    expect(JSON.stringify(h.sent[0])).toContain('"text":"What time is it?"');
    expect(h.states().at(-1)).toBe('thinking');
  });

  it('shows provider errors as human sentences and hides the benign cancel race', () => {
    const h = harness();
    h.server({ type: 'error', error: { type: 'invalid_request_error', code: 'response_cancel_not_active', message: 'x' } });
    h.server({ type: 'error', error: { type: 'invalid_request_error', code: 'input_audio_buffer_commit_empty', message: 'buffer too small' } });
    const notices = h.events.filter((e) => e.kind === 'notice');
    expect(notices).toHaveLength(1);
    expect(JSON.stringify(notices[0])).toContain('hold the talk button a little longer');
  });

  it('hands session expiry to the runner instead of showing it', () => {
    const h = harness();
    h.server({ type: 'error', error: { type: 'invalid_request_error', code: 'session_expired', message: 'expired' } });
    expect(h.expired()).toBe(1);
    expect(h.events.filter((e) => e.kind === 'notice')).toHaveLength(0);
  });

  it('stops playback and forgets the turn when the connection drops', () => {
    const h = harness();
    assistantSpeaking(h, 200, 100);
    h.convo.sessionEnded();
    expect(h.playback.at(-1)).toBe('flush');
    expect(h.convo.assistantAudible).toBe(false);
  });
});

describe('truncatePlan', () => {
  it('floors to whole ms, caps at received audio and refuses zero', () => {
    expect(truncatePlan(812.9, 24_000)).toBe(812);
    expect(truncatePlan(1200, 24_000)).toBe(1000);
    expect(truncatePlan(0, 24_000)).toBeNull();
    expect(truncatePlan(0.6, 24_000)).toBeNull();
    expect(truncatePlan(500, 0)).toBeNull();
  });
});

describe('contextCarryEvent', () => {
  it('carries the conversation so far as one system message', () => {
    const e = contextCarryEvent([{ role: 'user', text: 'Hi' }, { role: 'assistant', text: 'Hello!' }]);
    expect(e).toMatchObject({ type: 'conversation.item.create', item: { type: 'message', role: 'system' } });
    expect(JSON.stringify(e)).toContain('User: Hi\\nAssistant: Hello!');
  });

  it('keeps the most recent lines when the history is long and sends nothing for an empty one', () => {
    const long = Array.from({ length: 500 }, (_, i) => ({ role: 'user' as const, text: `line ${i} ${'x'.repeat(40)}` }));
    const text = JSON.stringify(contextCarryEvent(long, 'time_limit', 1000));
    expect(text).toContain('line 499');
    expect(text).not.toContain('line 0 ');
    expect(contextCarryEvent([])).toBeNull();
  });
});
