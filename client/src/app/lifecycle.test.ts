import { describe, expect, it } from 'vitest';
import { detectLifecyclePlatform, lifecycleAction, lifecycleHelp, type LifecycleFacts } from './lifecycle.ts';

const IPHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Version/17.0 Mobile/15E148 Safari/604.1';
const IPAD_DESKTOP_CLASS = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15';
const ANDROID_CHROME = 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Mobile Safari/537.36';

const running: LifecycleFacts = { platform: 'keeps-running', stopWhenHidden: false, active: true, hidden: true, turnEnded: false };
const ios: LifecycleFacts = { ...running, platform: 'suspends-when-hidden' };

describe('the screen-off policy', () => {
  it('tells iPhones and iPads (even with a Mac user agent) from platforms that keep a capturing page running', () => {
    expect(detectLifecyclePlatform(IPHONE, 5)).toBe('suspends-when-hidden');
    expect(detectLifecyclePlatform(IPAD_DESKTOP_CLASS, 5)).toBe('suspends-when-hidden');
    expect(detectLifecyclePlatform(IPAD_DESKTOP_CLASS, 0)).toBe('keeps-running'); // a Mac
    expect(detectLifecyclePlatform(ANDROID_CHROME, 5)).toBe('keeps-running');
  });

  it('keeps the conversation going with the screen off where the platform allows it', () => {
    expect(lifecycleAction({ kind: 'hidden' }, running)).toEqual({ kind: 'none' });
    expect(lifecycleAction({ kind: 'frozen' }, running)).toEqual({ kind: 'none' });
  });

  it('stops it when hidden if the person chose "Stop when the screen locks", on every platform', () => {
    expect(lifecycleAction({ kind: 'hidden' }, { ...running, stopWhenHidden: true })).toEqual({ kind: 'stop' });
    expect(lifecycleAction({ kind: 'frozen' }, { ...ios, stopWhenHidden: true })).toEqual({ kind: 'stop' });
  });

  it('ends the turn on iOS as soon as the page is hidden, before the system suspends the audio', () => {
    expect(lifecycleAction({ kind: 'hidden' }, ios)).toEqual({ kind: 'end-turn' });
  });

  it('ends the turn on any platform whose audio or microphone is taken away while hidden', () => {
    expect(lifecycleAction({ kind: 'audio-suspended' }, running)).toEqual({ kind: 'end-turn' });
    expect(lifecycleAction({ kind: 'mic-lost' }, running)).toEqual({ kind: 'end-turn' });
  });

  it('leaves a suspension in the foreground (a call, Siri) to Tap to resume, and never acts on coming back', () => {
    expect(lifecycleAction({ kind: 'audio-suspended' }, { ...ios, hidden: false })).toEqual({ kind: 'none' });
    expect(lifecycleAction({ kind: 'visible' }, { ...ios, hidden: false })).toEqual({ kind: 'none' });
  });

  it('ends the turn once per time the page is hidden, however many of the events arrive', () => {
    expect(lifecycleAction({ kind: 'frozen' }, { ...ios, turnEnded: true })).toEqual({ kind: 'none' });
    expect(lifecycleAction({ kind: 'audio-suspended' }, { ...running, turnEnded: true })).toEqual({ kind: 'none' });
    expect(lifecycleAction({ kind: 'hidden' }, { ...ios, stopWhenHidden: true, turnEnded: true })).toEqual({ kind: 'stop' });
  });

  it('lets the microphone make turns again on return after an ended turn (the audio may still wait for a tap)', () => {
    expect(lifecycleAction({ kind: 'visible' }, { ...ios, hidden: false, turnEnded: true })).toEqual({ kind: 'resume-listening' });
    expect(lifecycleAction({ kind: 'visible' }, { ...ios, hidden: false, turnEnded: true, active: false })).toEqual({ kind: 'resume-listening' });
  });

  it('listens again when the audio comes back by itself while hidden, except on iOS (held until the page is visible)', () => {
    expect(lifecycleAction({ kind: 'audio-back' }, { ...running, turnEnded: true })).toEqual({ kind: 'resume-listening' });
    expect(lifecycleAction({ kind: 'audio-back' }, { ...ios, turnEnded: true })).toEqual({ kind: 'none' });
    expect(lifecycleAction({ kind: 'audio-back' }, { ...running, turnEnded: false })).toEqual({ kind: 'none' });
  });

  it('does nothing when no conversation runs', () => {
    expect(lifecycleAction({ kind: 'hidden' }, { ...ios, stopWhenHidden: true, active: false })).toEqual({ kind: 'none' });
  });

  it('says in words what each platform does', () => {
    expect(lifecycleHelp('suspends-when-hidden')).toMatch(/iPhone.*pauses.*Tap to resume/);
    expect(lifecycleHelp('keeps-running')).toMatch(/keeps going with the screen off.*Stop when the screen locks/);
  });
});
