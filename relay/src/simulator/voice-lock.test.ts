// The provider locks a conversation's voice once the assistant has spoken (its `cannot_update_voice` refusal,
// seen by SDK users as {type:'invalid_request_error', code:'cannot_update_voice', message:"Cannot update a
// conversation's voice if assistant audio is present.", param:null}); the simulator must refuse the same way, so
// the app's handling is tested against it. A real `ws` client on the standalone server, events via JSON.parse.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulatorServer, type SimulatorServer } from './server.ts';
import { RealtimeTestClient } from '../testing/realtime-client.ts';

let sim: SimulatorServer;
beforeAll(async () => {
  sim = await startSimulatorServer({ port: 0 });
});
afterAll(async () => {
  await sim.close();
});

async function connect(): Promise<RealtimeTestClient> {
  const c = await RealtimeTestClient.connect(`${sim.url}?model=gpt-realtime`);
  await c.waitFor('session.created');
  return c;
}

const voiceUpdate = (voice: string, extra: Record<string, unknown> = {}) => ({ type: 'session.update', event_id: `ev_${voice}`, session: { type: 'realtime', ...extra, audio: { output: { voice } } } });

async function speakOnce(c: RealtimeTestClient): Promise<void> {
  const from = c.events.length;
  c.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hi' }] } });
  c.send({ type: 'response.create' });
  await c.waitFor('response.output_audio.delta', { from });
  await c.waitFor('response.done', { from });
}

describe('the simulator’s voice lock', () => {
  it('accepts a voice change before any assistant audio', async () => {
    const c = await connect();
    const from = c.events.length;
    c.send(voiceUpdate('cedar'));
    const updated = await c.waitFor('session.updated', { from });
    expect((updated.session as { audio: { output: { voice: string } } }).audio.output.voice).toBe('cedar');
    c.close();
  });

  it('refuses a different voice after assistant audio with the provider’s error, and discards the whole update', async () => {
    const c = await connect();
    await speakOnce(c);
    const from = c.events.length;
    c.send(voiceUpdate('cedar', { instructions: 'Changed too.' }));
    const err = await c.waitFor('error', { from });
    expect(err.error).toEqual({ type: 'invalid_request_error', code: 'cannot_update_voice', message: "Cannot update a conversation's voice if assistant audio is present.", param: null, event_id: 'ev_cedar' });
    // Nothing of that update was applied: the next update shows the old voice and instructions.
    const probe = c.events.length;
    c.send({ type: 'session.update', session: { type: 'realtime', max_output_tokens: 500 } });
    const updated = await c.waitFor('session.updated', { from: probe });
    const session = updated.session as { instructions: string; audio: { output: { voice: string } } };
    expect(session.audio.output.voice).toBe('marin');
    expect(session.instructions).not.toBe('Changed too.');
    c.close();
  });

  it('still takes the same voice again, and other fields, after audio', async () => {
    const c = await connect();
    await speakOnce(c);
    const from = c.events.length;
    c.send(voiceUpdate('marin', { instructions: 'Be brief.' }));
    const updated = await c.waitFor('session.updated', { from });
    expect((updated.session as { instructions: string }).instructions).toBe('Be brief.');
    expect(c.events.slice(from).some((e) => e.type === 'error')).toBe(false);
    c.close();
  });
});
