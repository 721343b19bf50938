import { describe, expect, it } from 'vitest';
import { RELAY_ERRORS } from '../../../protocol/relay-errors.ts';
import { rejectError } from '../session/errors.ts';
import { needsNewToken, quotaSentence, rejectSentence } from './sentences.ts';
import { detectBrowser } from './mic-help.ts';
import { isIPadOS } from './ios-audio.ts';

describe('refusal sentences', () => {
  it('says what the Earshot server’s table says, on the onboarding screen and in the engine alike', () => {
    for (const code of ['token_expired', 'model_not_allowed', 'too_many_failed_attempts', 'quota_exhausted'] as const) {
      expect(rejectSentence(code, 'server words')).toBe(RELAY_ERRORS[code].sentence);
      expect(rejectError(code).message).toBe(RELAY_ERRORS[code].sentence);
    }
  });

  it('falls back to the server’s own message for a code this app does not know yet', () => {
    expect(rejectSentence('brand_new_code', 'The server explains.')).toBe('The server explains.');
  });

  it('sends the person back to onboarding only for refusals a new token fixes', () => {
    expect(needsNewToken('token_expired')).toBe(true);
    expect(needsNewToken('user_disabled')).toBe(true);
    expect(needsNewToken('too_many_failed_attempts')).toBe(false);
    expect(needsNewToken('model_not_allowed')).toBe(false);
  });

  it('says until when (in the person’s own time) a quota comes back, and what to do', () => {
    const now = Date.UTC(2026, 11, 1, 21, 40);
    const midnightUtc = Date.UTC(2026, 11, 2, 0, 0);
    expect(quotaSentence(midnightUtc, now, 'en-GB', 'Europe/Berlin')).toBe('You are out of speaking time until 2 Dec, 01:00 (your time). Come back then, or ask whoever runs your Earshot server for more.');
    expect(quotaSentence(midnightUtc, now, 'en-GB', 'America/New_York')).toBe('You are out of speaking time until 19:00 (your time). Come back then, or ask whoever runs your Earshot server for more.');
    expect(quotaSentence(null, now)).toBe(RELAY_ERRORS.quota_exhausted.sentence);
    expect(quotaSentence(now - 1, now)).toBe(RELAY_ERRORS.quota_exhausted.sentence);
  });
});

describe('iPadOS', () => {
  const ipad = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15';
  it('is told from a Mac by its touch points, and gets the iOS microphone help', () => {
    expect(isIPadOS(ipad, 5)).toBe(true);
    expect(isIPadOS(ipad, 0)).toBe(false);
    expect(detectBrowser(ipad, 5)).toBe('ios-safari');
    expect(detectBrowser(ipad, 0)).toBe('safari');
  });
});
