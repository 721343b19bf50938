import { describe, expect, it } from 'vitest';
import { initialView, isActive, reduce, stateText, statusText } from './conversation-state.ts';

describe('conversation view', () => {
  it('keeps one transcript line per item and replaces its text as deltas arrive', () => {
    let v = reduce(initialView, { kind: 'transcript', role: 'user', itemId: 'u1', text: 'hel', final: false });
    v = reduce(v, { kind: 'transcript', role: 'assistant', itemId: 'a1', text: 'Echo', final: false });
    v = reduce(v, { kind: 'transcript', role: 'user', itemId: 'u1', text: 'hello', final: true });
    expect(v.lines).toEqual([
      { itemId: 'u1', role: 'user', text: 'hello', final: true, interrupted: false },
      { itemId: 'a1', role: 'assistant', text: 'Echo', final: false, interrupted: false },
    ]);
  });

  it('bounds the transcript', () => {
    let v = initialView;
    for (let i = 0; i < 250; i++) v = reduce(v, { kind: 'transcript', role: 'user', itemId: `u${i}`, text: 'x', final: true });
    expect(v.lines).toHaveLength(200);
    expect(v.lines[0]!.itemId).toBe('u50');
  });

  it('records latency, mute, notices, and clears a notice once listening again', () => {
    let v = reduce(initialView, { kind: 'turn-latency', ms: 412.6 });
    v = reduce(v, { kind: 'muted', muted: true });
    v = reduce(v, { kind: 'notice', error: { reason: 'upstream_error', message: 'Provider hiccup.', fatal: false } });
    expect([v.lastLatencyMs, v.muted, v.notice?.message]).toEqual([413, true, 'Provider hiccup.']);
    v = reduce(v, { kind: 'state', state: { kind: 'listening' } });
    expect(v.notice).toBeNull();
  });

  it('says what is happening in every state, with a live reconnect countdown', () => {
    const texts = (['idle', 'connecting', 'listening', 'hearing', 'thinking', 'speaking'] as const).map((kind) => stateText({ kind }, 0));
    expect(texts).toEqual(['Ready. Tap Start to talk.', 'Connecting…', 'Listening', 'Hearing you…', 'Thinking…', 'Speaking']);
    expect(stateText({ kind: 'reconnecting', attempt: 2, retryAt: 10_000 }, 6_100)).toBe('Connection lost — reconnecting in 4 s (attempt 2)');
    expect(stateText({ kind: 'reconnecting', attempt: 2, retryAt: 10_000 }, 10_500)).toBe('Connection lost — reconnecting…');
    expect(stateText({ kind: 'error', error: { reason: 'mic_denied', message: 'Allow the mic.', fatal: true } }, 0)).toBe('Allow the mic.');
    expect(isActive({ kind: 'idle' })).toBe(false);
    expect(isActive({ kind: 'reconnecting', attempt: 1, retryAt: 0 })).toBe(true);
  });

  it('marks a reply the person cut off', () => {
    const v = reduce(initialView, { kind: 'transcript', role: 'assistant', itemId: 'a1', text: 'Echo: one two…', final: true, interrupted: true });
    expect(v.lines[0]!.interrupted).toBe(true);
  });

  it('is no longer muted once the conversation ends: the next one starts with a new, unmuted microphone', () => {
    let v = reduce(initialView, { kind: 'state', state: { kind: 'listening' } });
    v = reduce(v, { kind: 'muted', muted: true });
    v = reduce(v, { kind: 'state', state: { kind: 'idle' } });
    expect(v.muted).toBe(false);
    v = reduce(v, { kind: 'state', state: { kind: 'connecting' } });
    expect(statusText(v, 0, { pausedInBackground: false })).not.toMatch(/Muted/);
  });

  it('has its own words for muted, audio held by the browser, a pause in the background and a restarting server', () => {
    const none = { pausedInBackground: false };
    const listening = { ...initialView, state: { kind: 'listening' as const } };
    expect(statusText({ ...listening, muted: true }, 0, none)).toBe('Muted — the assistant cannot hear you. Tap Unmute to talk.');
    expect(statusText({ ...listening, state: { kind: 'hearing' }, muted: true }, 0, none)).toMatch(/^Muted/);
    expect(statusText({ ...listening, state: { kind: 'speaking' }, muted: true }, 0, none)).toBe('Speaking');
    expect(statusText({ ...listening, audioBlocked: true }, 0, none)).toBe('Audio is paused by the browser. Tap “Tap to resume”.');
    expect(statusText({ ...initialView }, 0, { pausedInBackground: true })).toBe('Paused while the app was in the background. Tap Start to go on.');
    const restarting = { ...initialView, state: { kind: 'reconnecting' as const, attempt: 1, retryAt: 3_000 }, notice: { reason: 'shutting_down' as const, message: 'x', fatal: false } };
    expect(statusText(restarting, 0, none)).toBe('The server is restarting — reconnecting in 3 s');
    expect(statusText({ ...restarting, notice: null }, 0, none)).toBe('Connection lost — reconnecting in 3 s (attempt 1)');
    for (const text of [statusText(restarting, 0, none), statusText({ ...listening, muted: true }, 0, none)]) expect(text).not.toMatch(/relay/i);
  });
});
