import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CloseCode } from './close-codes.ts';
import { CLOSE_CODE_ERRORS, RELAY_ERRORS, relayErrorMessage, relayErrorSpec, type RelayErrorCode } from './relay-errors.ts';

const codes = Object.keys(RELAY_ERRORS) as RelayErrorCode[];

describe('the vocabulary of refusals and errors', () => {
  it('gives every code a plain sentence that names the Earshot server, never "the relay", and no raw codes', () => {
    for (const code of codes) {
      const { sentence } = relayErrorSpec(code);
      expect(sentence, code).toMatch(/^[A-Z].{20,}[.…)]$/);
      expect(sentence, code).not.toMatch(/\brelay\b/i);
      expect(sentence, code).not.toMatch(/_/);
    }
  });

  it('says how each code travels: an HTTP status before the upgrade, a close code when it ends a session, or neither (the session goes on)', () => {
    for (const code of codes) {
      const spec = relayErrorSpec(code);
      if (spec.status !== undefined) expect([400, 401, 403, 404, 405, 409, 413, 426, 429, 500, 503], code).toContain(spec.status);
      if (spec.close !== undefined) expect(Object.values(CloseCode), code).toContain(spec.close);
    }
    expect(relayErrorSpec('model_not_allowed')).toMatchObject({ status: 400, fatal: true });
    expect(relayErrorSpec('token_expired')).toMatchObject({ status: 401, close: CloseCode.Revoked, fatal: true });
    expect(relayErrorSpec('quota_exhausted')).toMatchObject({ status: 429, close: CloseCode.QuotaExhausted });
    expect(relayErrorSpec('internal_error')).toMatchObject({ close: CloseCode.InternalError, fatal: false });
    for (const code of ['event_too_large', 'unknown_parameter', 'invalid_event', 'invalid_value', 'session_field_locked', 'event_type_not_allowed', 'voice_not_allowed'] as const) {
      expect(relayErrorSpec(code).close, code).toBeUndefined();
    }
  });

  it('maps every close code but 1000 to the code that usually explains it, and that code closes with it', () => {
    for (const close of Object.values(CloseCode)) {
      if (close === CloseCode.Normal) continue;
      const code = CLOSE_CODE_ERRORS[close];
      expect(code, String(close)).toBeDefined();
      expect(relayErrorSpec(code!).close).toBe(close);
    }
  });

  it('appends a detail after the sentence', () => {
    expect(relayErrorMessage('model_not_allowed', 'Allowed: gpt-realtime.')).toBe(`${RELAY_ERRORS.model_not_allowed.sentence} Allowed: gpt-realtime.`);
  });

  it('is the table the README documents: every code appears there', () => {
    const readme = readFileSync(join(import.meta.dirname, '..', 'README.md'), 'utf8');
    for (const code of codes) expect(readme, code).toContain(`\`${code}\``);
  });
});
