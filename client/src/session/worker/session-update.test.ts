import { describe, expect, it } from 'vitest';
import type { ClientPolicyView } from '../../../../protocol/relay-http.ts';
import type { EngineSettings } from '../engine-api.ts';
import { planSessionUpdate } from './session-update.ts';

const policy: ClientPolicyView = {
  mutableFields: ['type', 'audio.output.voice', 'instructions', 'audio.input.turn_detection', 'audio.input.noise_reduction'],
  voice: 'marin',
  voices: ['marin', 'cedar'],
  instructions: 'Be brief.',
  model: 'gpt-realtime',
};
const settings: EngineSettings = { mode: 'hands-free', echoCancellation: true, noiseSuppression: true, autoGainControl: true, farField: false };

describe('planSessionUpdate', () => {
  it('asks for server VAD in hands-free mode and no turn detection for hold-to-talk', () => {
    const free = planSessionUpdate(settings, policy).event!.session as { audio: { input: { turn_detection: unknown } } };
    expect(free.audio.input.turn_detection).toMatchObject({ type: 'server_vad', create_response: true });
    const held = planSessionUpdate({ ...settings, mode: 'hold-to-talk' }, policy).event!.session as { audio: { input: { turn_detection: unknown } } };
    expect(held.audio.input.turn_detection).toBeNull();
  });

  it('offers far_field noise reduction for speakerphone use', () => {
    const s = planSessionUpdate({ ...settings, farField: true }, policy).event!.session as { audio: { input: { noise_reduction: unknown } } };
    expect(s.audio.input.noise_reduction).toEqual({ type: 'far_field' });
  });

  it('sends a voice only when the policy offers it', () => {
    expect(JSON.stringify(planSessionUpdate({ ...settings, voice: 'cedar' }, policy).event)).toContain('"voice":"cedar"');
    const plan = planSessionUpdate({ ...settings, voice: 'alloy' }, policy);
    expect(JSON.stringify(plan.event)).not.toContain('alloy');
    expect(plan.refused).toContain('voice');
  });

  it('does NOT send a locked field and reports it as refused', () => {
    const locked = { ...policy, mutableFields: ['audio.output.voice'] };
    const plan = planSessionUpdate({ ...settings, mode: 'hold-to-talk', instructions: 'Talk like a pirate' }, locked);
    expect(plan.event).toBeNull();
    expect(plan.refused).toEqual(['hold-to-talk', 'instructions']);
  });

  it('omits the session type when the policy does not list it', () => {
    const plan = planSessionUpdate(settings, { ...policy, mutableFields: ['audio.input.turn_detection'] });
    expect(plan.event!.session).not.toHaveProperty('type');
  });

  it('sends a voice only when it differs from the session’s, never again for the same one', () => {
    expect(planSessionUpdate({ ...settings, voice: 'marin' }, policy).voice).toBeUndefined();
    expect(JSON.stringify(planSessionUpdate({ ...settings, voice: 'marin' }, policy).event)).not.toContain('voice');
    expect(planSessionUpdate({ ...settings, voice: 'cedar' }, policy, { current: 'cedar', locked: false }).event?.session).not.toHaveProperty('audio.output');
    // Only the instructions changed: no voice in the update.
    expect(JSON.stringify(planSessionUpdate({ ...settings, voice: 'cedar', instructions: 'New.' }, policy, { current: 'cedar', locked: true }).event)).not.toContain('voice');
  });

  it('after the assistant has spoken, defers a new voice to the next conversation instead of sending it', () => {
    const plan = planSessionUpdate({ ...settings, voice: 'cedar' }, policy, { current: 'marin', locked: true });
    expect(JSON.stringify(plan.event)).not.toContain('cedar');
    expect(plan.voiceDeferred).toBe(true);
    expect(plan.refused).toEqual([]);
  });
});
