import { describe, expect, it } from 'vitest';
import { RELAY_ERRORS } from '../../../protocol/relay-errors.ts';
import { rejectError } from '../session/errors.ts';
import { needsNewToken, rejectSentence } from './sentences.ts';

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
});
