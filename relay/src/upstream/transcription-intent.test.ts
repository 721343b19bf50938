// `?intent=transcription` through the relay: forwarded to the provider (here the standalone simulator as a
// network upstream, so what arrives is the provider's own `session.created`), with the transcription policy as
// the session's first update, and a transcription session's turn end to end.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulatorServer, type SimulatorServer } from '../simulator/server.ts';
import { RealtimeTestClient, speechPcm16 } from '../testing/realtime-client.ts';
import { startTestRelay, type TestRelay } from '../testing/start-relay.ts';
import { createWsUpstreamFactory, upstreamUrlFor } from './ws-upstream.ts';

let sim: SimulatorServer;
let relay: TestRelay;

beforeAll(async () => {
  sim = await startSimulatorServer({ port: 0 });
  relay = await startTestRelay({}, { upstreamFactory: createWsUpstreamFactory({ url: sim.url, authHeader: 'authorization', connectTimeoutMs: 2000 }) });
});
afterAll(async () => {
  await relay.stop();
  await sim.close();
});

describe('transcription sessions through the relay', () => {
  it('names the intent, not a model, in the upstream URL', () => {
    expect(upstreamUrlFor('wss://api.openai.com/v1/realtime', { model: 'gpt-realtime', intent: 'transcription' })).toBe('wss://api.openai.com/v1/realtime?intent=transcription');
    expect(upstreamUrlFor('wss://api.openai.com/v1/realtime', { model: 'gpt-realtime' })).toBe('wss://api.openai.com/v1/realtime?model=gpt-realtime');
  });

  it('forwards ?intent=transcription and applies the transcription policy; a spoken turn is transcribed, with no response', async () => {
    const url = relay.wsUrl.replace(/\?.*$/, '?intent=transcription');
    const c = await RealtimeTestClient.connect(url, { headers: { authorization: `Bearer ${await relay.mint('scribe')}` } });
    const created = (await c.waitFor('session.created')) as unknown as { session: Record<string, unknown> };
    expect(created.session).toMatchObject({ type: 'transcription', object: 'realtime.transcription_session' });
    const updated = await c.waitFor('session.updated');
    // The operator's transcription model and turn detection (500 ms of silence), not a conversation policy.
    expect(updated.session).toMatchObject({ type: 'transcription', audio: { input: { transcription: { model: 'gpt-4o-mini-transcribe' }, turn_detection: { type: 'server_vad', silence_duration_ms: 500 } } } });
    expect(updated.session).not.toHaveProperty('instructions');
    // The client may tune its own transcription session within the policy (type and turn detection are mutable).
    const from = c.events.length;
    c.send({ type: 'session.update', session: { type: 'transcription', audio: { input: { turn_detection: { type: 'server_vad', silence_duration_ms: 600 } } } } });
    const tuned = await c.waitFor('session.updated', { from });
    expect(tuned.session).toMatchObject({ audio: { input: { turn_detection: { silence_duration_ms: 600 } } } });
    c.appendAudio(speechPcm16('transcribe these words', 0.8));
    const completed = await c.waitFor('conversation.item.input_audio_transcription.completed');
    expect(completed.transcript).toMatch(/^\(\d+\.\d s of speech\)$/);
    expect(c.types().filter((t) => t.startsWith('response.') || t === 'error')).toEqual([]);
    await c.close();
  });
});
