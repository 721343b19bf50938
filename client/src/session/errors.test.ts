import { describe, expect, it } from 'vitest';
import { CloseCode } from '../../../protocol/close-codes.ts';
import type { RejectReason } from '../../../protocol/relay-http.ts';
import { RELAY_ERRORS } from '../../../protocol/relay-errors.ts';
import { closeAction, micDeniedInstructions, micError, providerErrorMessage, rejectError } from './errors.ts';

describe('error wording', () => {
  it('gives every token rejection a sentence that says what to do', () => {
    const reasons: RejectReason[] = ['token_missing', 'token_malformed', 'token_bad_signature', 'token_expired', 'token_revoked', 'origin_not_allowed', 'user_disabled', 'too_many_sessions', 'too_many_failed_attempts', 'quota_exhausted', 'shutting_down'];
    for (const reason of reasons) {
      const e = rejectError(reason);
      expect(e.reason).toBe(reason);
      expect(e.message.length).toBeGreaterThan(20);
      expect(e.message).not.toMatch(/_/); // no raw codes shown to people
    }
    expect(rejectError('token_expired').fatal).toBe(true);
    expect(rejectError('shutting_down').fatal).toBe(false);
  });

  it('stops on revocation, quota and provider-auth closes, renews on expiry, reconnects otherwise', () => {
    expect(closeAction(CloseCode.Revoked).kind).toBe('stop');
    expect(closeAction(CloseCode.QuotaExhausted).kind).toBe('stop');
    expect(closeAction(CloseCode.UpstreamAuth).kind).toBe('stop');
    expect(closeAction(CloseCode.SessionExpired).kind).toBe('new-session');
    expect(closeAction(CloseCode.SessionLimit).kind).toBe('new-session');
    for (const code of [1006, CloseCode.GoingAway, CloseCode.InternalError, CloseCode.Backpressure, CloseCode.UpstreamUnavailable, CloseCode.RateLimited, CloseCode.MessageTooBig]) {
      expect(closeAction(code).kind).toBe('reconnect');
    }
  });

  it('tells apart the codes that share a close code by the error event before it, and uses the shared sentences', () => {
    expect(closeAction(CloseCode.Revoked, 'token_expired')).toEqual({ kind: 'stop', error: { reason: 'token_expired', message: RELAY_ERRORS.token_expired.sentence, fatal: true } });
    expect(closeAction(CloseCode.Revoked)).toMatchObject({ kind: 'stop', error: { reason: 'token_revoked', message: RELAY_ERRORS.token_revoked.sentence } });
    // An error event whose code does not go with this close code is not believed.
    expect(closeAction(CloseCode.Revoked, 'rate_limited')).toMatchObject({ error: { reason: 'token_revoked' } });
    expect(closeAction(CloseCode.InternalError)).toMatchObject({ kind: 'reconnect', error: { message: RELAY_ERRORS.internal_error.sentence } });
    expect(providerErrorMessage({ type: 'invalid_request_error', code: 'voice_not_allowed', message: "Voice 'x' is not offered on this relay." })).toBe(RELAY_ERRORS.voice_not_allowed.sentence);
  });

  it('explains a denied microphone with instructions and a missing one with what to plug in', () => {
    expect(micError('NotAllowedError')).toMatchObject({ reason: 'mic_denied', fatal: true });
    expect(micError('NotAllowedError').message).toMatch(/Microphone access is blocked\. .*Allow/);
    expect(micError('NotFoundError').reason).toBe('mic_missing');
    expect(micError('NotReadableError').reason).toBe('audio_failed');
  });

  it('maps provider error events to human sentences, falling back to the provider message', () => {
    expect(providerErrorMessage({ type: 'invalid_request_error', code: 'conversation_already_has_active_response', message: 'x' })).toMatch(/still answering/);
    expect(providerErrorMessage({ type: 'server_error', code: null, message: 'boom' })).toMatch(/had a problem/);
    expect(providerErrorMessage({ type: 'invalid_request_error', code: 'weird', message: 'Bad thing.' })).toBe('The assistant could not do that: Bad thing.');
  });

  it('tells a person where the microphone permission lives in their browser', () => {
    const ios = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1';
    const android = 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36';
    const firefox = 'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0';
    const mac = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15';
    const chrome = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36';
    expect(micDeniedInstructions(ios)).toMatch(/Website Settings/);
    expect(micDeniedInstructions(android)).toMatch(/Permissions/);
    expect(micDeniedInstructions(firefox)).toMatch(/crossed-out microphone/);
    expect(micDeniedInstructions(mac)).toMatch(/Safari › Settings/);
    expect(micDeniedInstructions(chrome)).toMatch(/Site settings/);
    expect(micError('NotAllowedError', ios).message).toMatch(/Website Settings/);
  });
});
