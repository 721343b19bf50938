import { describe, expect, it } from 'vitest';
import { policySchema } from '../config/config.ts';
import { checkSessionUpdate, initialSessionUpdate } from './session-policy.ts';

const policy = policySchema.parse({ clientMutableFields: ['type', 'audio.output.voice', 'audio.input.turn_detection'], voices: ['marin', 'cedar'] });

describe('session policy', () => {
  it('lets a client change only mutable fields, to allowed voices', () => {
    expect(checkSessionUpdate(policy, { session: { type: 'realtime', audio: { output: { voice: 'cedar' } } } })).toEqual({ ok: true });
    expect(checkSessionUpdate(policy, { session: { audio: { input: { turn_detection: { type: 'server_vad', threshold: 0.8 } } } } })).toEqual({ ok: true });
    expect(checkSessionUpdate(policy, { session: { audio: { input: { turn_detection: null } } } })).toEqual({ ok: true });
    expect(checkSessionUpdate(policy, { session: { instructions: 'x' } })).toMatchObject({ ok: false, code: 'session_field_locked', param: 'session.instructions' });
    expect(checkSessionUpdate(policy, { session: { audio: { output: { speed: 2 } } } })).toMatchObject({ ok: false, param: 'session.audio.output.speed' });
    expect(checkSessionUpdate(policy, { session: { audio: { output: { voice: 'alloy' } } } })).toMatchObject({ ok: false, code: 'voice_not_allowed' });
    expect(checkSessionUpdate(policy, { session: 'x' })).toMatchObject({ ok: false });
  });

  it('builds the first session.update from the policy with per-user overrides', () => {
    const u = initialSessionUpdate(policy, { voice: 'cedar', instructions: 'Speak French.' }, 'gpt-realtime');
    expect(u.session).toMatchObject({ type: 'realtime', instructions: 'Speak French.', audio: { output: { voice: 'cedar' } } });
    expect(initialSessionUpdate(policy, {}, 'm').session).toMatchObject({ instructions: policy.instructions, audio: { output: { voice: policy.voice } } });
  });
});
