// Protocol tests: a real `ws` client drives the standalone simulator through whole turns.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulatorServer, type SimulatorServer } from './server.ts';
import { RealtimeTestClient, speechPcm16 } from '../testing/realtime-client.ts';

let sim: SimulatorServer;
let speech: Buffer;

beforeAll(async () => {
  // A pinned clock: `expires_at` is the only wall-clock value in the events, and determinism is tested.
  sim = await startSimulatorServer({ port: 0, now: () => Date.UTC(2026, 0, 1) });
  speech = speechPcm16('hello there, this is a test', 0.8);
});
afterAll(async () => {
  await sim.close();
});

/** A session with the relay's VAD timing (500 ms of silence ends a turn; the provider's default 200 ms splits espeak's pauses). */
async function connect(): Promise<RealtimeTestClient> {
  const client = await RealtimeTestClient.connect(`${sim.url}?model=gpt-realtime`);
  await client.waitFor('session.created');
  client.send({ type: 'session.update', session: { type: 'realtime', audio: { input: { turn_detection: { type: 'server_vad', silence_duration_ms: 500 } } } } });
  await client.waitFor('session.updated');
  return client;
}

describe('simulator protocol', () => {
  it('runs a server-VAD turn: speech_started, speech_stopped, commit, and an echoed audio reply', async () => {
    const c = await connect();
    c.appendAudio(speech);
    const started = await c.waitFor('input_audio_buffer.speech_started');
    const stopped = await c.waitFor('input_audio_buffer.speech_stopped');
    expect(stopped.item_id).toBe(started.item_id);
    expect(stopped.audio_end_ms).toBeGreaterThan(started.audio_start_ms);
    const committed = await c.waitFor('input_audio_buffer.committed');
    expect(committed.item_id).toBe(started.item_id);
    const done = await c.waitFor('response.done');
    expect(done.response.status).toBe('completed');
    expect(done.response.usage?.output_token_details?.audio_tokens).toBeGreaterThan(0);
    const audioBytes = c.of('response.output_audio.delta').reduce((n, e) => n + Buffer.from(e.delta, 'base64').length, 0);
    // The echo is the utterance pitch-shifted by 1.12: shorter than the input, but most of it.
    expect(audioBytes).toBeGreaterThan(0.5 * speech.length * 0.5);
    expect(audioBytes).toBeLessThan(speech.length);
    const transcript = await c.waitFor('response.output_audio_transcript.done');
    expect(transcript.transcript).toMatch(/^Echo: \d+\.\d s of speech heard$/);
    const order = c.types().filter((t) => t.startsWith('response.') && !t.endsWith('.delta'));
    expect(order).toEqual([
      'response.created',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_audio.done',
      'response.output_audio_transcript.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.done',
    ]);
    await c.close();
  });

  it('is deterministic: the same audio gives the same events and bytes', async () => {
    const run = async () => {
      const c = await connect();
      c.appendAudio(speech);
      await c.waitFor('response.done');
      await c.close();
      return c.events.map((e) => JSON.stringify(e));
    };
    expect(await run()).toEqual(await run());
  });

  it('supports manual turns with turn_detection null and input transcription', async () => {
    const c = await connect();
    const from = c.events.length;
    c.send({ type: 'session.update', session: { type: 'realtime', audio: { input: { turn_detection: null, transcription: { model: 'whisper-1' } } } } });
    const updated = await c.waitFor('session.updated', { from });
    expect(updated.session.type === 'realtime' && updated.session.audio?.input?.turn_detection).toBeNull();
    c.appendAudio(speech);
    c.send({ type: 'input_audio_buffer.commit' });
    const committed = await c.waitFor('input_audio_buffer.committed');
    const completed = await c.waitFor('conversation.item.input_audio_transcription.completed');
    expect(completed.item_id).toBe(committed.item_id);
    expect(completed.transcript).toMatch(/s of speech\)$/);
    expect(c.of('input_audio_buffer.speech_started')).toHaveLength(0);
    expect(c.of('response.created')).toHaveLength(0);
    c.send({ type: 'response.create' });
    await c.waitFor('response.done');
    await c.close();
  });

  it('rejects a commit of an almost empty buffer with the provider error', async () => {
    const c = await connect();
    c.send({ type: 'session.update', session: { type: 'realtime', audio: { input: { turn_detection: null } } } });
    c.send({ type: 'input_audio_buffer.append', audio: Buffer.alloc(960).toString('base64') });
    c.send({ type: 'input_audio_buffer.commit', event_id: 'evt_commit' });
    const err = await c.waitFor('error');
    expect(err.error).toMatchObject({ type: 'invalid_request_error', code: 'input_audio_buffer_commit_empty', event_id: 'evt_commit' });
    await c.close();
  });

  it('handles barge-in: truncate cuts the assistant item, longer than received is an error', async () => {
    const c = await connect();
    c.send({ type: 'session.update', session: { type: 'realtime', audio: { input: { turn_detection: null } } } });
    c.appendAudio(speech);
    c.send({ type: 'input_audio_buffer.commit' });
    c.send({ type: 'response.create' });
    const delta = await c.waitFor('response.output_audio.delta');
    c.send({ type: 'conversation.item.truncate', item_id: delta.item_id, content_index: 0, audio_end_ms: 100 });
    const truncated = await c.waitFor('conversation.item.truncated');
    expect(truncated).toMatchObject({ item_id: delta.item_id, audio_end_ms: 100, content_index: 0 });
    const done = await c.waitFor('response.done');
    expect(done.response.status).toBe('cancelled');
    c.send({ type: 'conversation.item.truncate', item_id: delta.item_id, content_index: 0, audio_end_ms: 99_000, event_id: 'evt_t' });
    const err = await c.waitFor('error');
    expect(err.error.code).toBe('invalid_value');
    expect(err.error.message).toMatch(/already shorter than 99000ms/);
    await c.close();
  });

  it('cancels an in-flight response when the user speaks again (interrupt_response)', async () => {
    const c = await connect();
    c.appendAudio(speech);
    await c.waitFor('response.output_audio.delta');
    const from = c.events.length;
    c.appendAudio(speech);
    const done = await c.waitFor('response.done', { from: 0 });
    expect(done.response.status).toBe('cancelled');
    expect(done.response.status_details).toMatchObject({ type: 'cancelled', reason: 'turn_detected' });
    await c.waitFor('input_audio_buffer.speech_started', { from });
    await c.close();
  });

  it('cancels on response.cancel and reports an error when nothing is active', async () => {
    const c = await connect();
    c.send({ type: 'response.cancel', event_id: 'evt_c1' });
    expect((await c.waitFor('error')).error.code).toBe('response_cancel_not_active');
    c.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'long reply please' }] } });
    c.send({ type: 'response.create' });
    await c.waitFor('response.created');
    c.send({ type: 'response.cancel' });
    const done = await c.waitFor('response.done');
    expect(done.response.status).toBe('cancelled');
    await c.close();
  });

  it('answers a text message, in text when output_modalities is text', async () => {
    const c = await connect();
    c.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hi bot' }] } });
    const added = await c.waitFor('conversation.item.added');
    expect(added.item.type).toBe('message');
    c.send({ type: 'response.create' });
    const t = await c.waitFor('response.output_audio_transcript.done');
    expect(t.transcript).toBe('Echo: you wrote "hi bot"');
    await c.waitFor('response.done');
    c.send({ type: 'session.update', session: { type: 'realtime', output_modalities: ['text'] } });
    c.send({ type: 'response.create' });
    const text = await c.waitFor('response.output_text.done');
    expect(text.text).toBe('Echo: you wrote "hi bot"');
    await c.close();
  });

  it('returns provider-shaped errors for bad events and keeps the session', async () => {
    const c = await connect();
    c.send('this is not json');
    c.send({ type: 'no.such.event', event_id: 'evt_1' });
    c.send({ type: 'input_audio_buffer.append', audio: '###', event_id: 'evt_2' });
    c.send({ type: 'input_audio_buffer.append', audio: 42, event_id: 'evt_3' });
    c.send({ type: 'session.update', session: { type: 'realtime', audio: { input: { turn_detection: { type: 'server_vad', threshold: 3 } } } }, event_id: 'evt_4' });
    for (let i = 0; i < 5; i++) await c.waitFor('error', { where: () => c.of('error').length >= 5 });
    const errors = c.of('error').map((e) => e.error);
    expect(errors.map((e) => e.code)).toEqual(['invalid_json', 'invalid_value', 'invalid_value', 'invalid_type', 'invalid_value']);
    expect(errors.map((e) => e.event_id)).toEqual([null, 'evt_1', 'evt_2', 'evt_3', 'evt_4']);
    expect(errors.map((e) => e.param)).toEqual([null, 'type', 'audio', 'audio', 'session.audio.input.turn_detection.threshold']);
    for (const e of errors) expect(e.type).toBe('invalid_request_error');
    // The session is still usable.
    c.send({ type: 'input_audio_buffer.clear' });
    await c.waitFor('input_audio_buffer.cleared');
    await c.close();
  });
});

describe('simulator server', () => {
  it('ends a session at its maximum duration with session_expired and a clean close', async () => {
    const short = await startSimulatorServer({ port: 0, maxSessionMs: 300 });
    const c = await RealtimeTestClient.connect(`${short.url}?model=gpt-realtime`);
    const err = await c.waitFor('error', { timeoutMs: 5000 });
    expect(err.error.code).toBe('session_expired');
    expect((await c.closed).code).toBe(1000);
    await short.close();
  });

  it('refuses a wrong or missing API key as the provider does: 101, one error, close 3000 with the masked key', async () => {
    const keyed = await startSimulatorServer({ port: 0, apiKey: 'sk-right-0123456789' });
    const wrong = await RealtimeTestClient.connect(keyed.url, { headers: { authorization: 'Bearer sk-wrong-abcdefghij' } });
    const closed = await wrong.closed;
    expect(closed).toEqual({ code: 3000, reason: 'invalid_request_error.invalid_api_key' });
    expect(wrong.types()).toEqual(['error']);
    const [err] = wrong.of('error');
    expect(err!.error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_api_key', event_id: null });
    expect(err!.error.message).toContain('Incorrect API key provided: sk-wro***ghij.');
    const missing = await RealtimeTestClient.connect(keyed.url);
    expect((await missing.closed).code).toBe(3000);
    expect(missing.of('error')[0]!.error.code).toBe('invalid_api_key');
    const ok = await RealtimeTestClient.connect(`${keyed.url}?model=gpt-realtime`, { headers: { authorization: 'Bearer sk-right-0123456789' } });
    await ok.waitFor('session.created');
    await ok.close();
    await keyed.close();
  });

  it('refuses an unknown or missing model and the beta header with one error and close 4000', async () => {
    const cases = [
      { url: `${sim.url}?model=gpt-5-turbo`, headers: {} as Record<string, string>, code: 'invalid_model' },
      { url: sim.url, headers: {}, code: 'missing_model' },
      { url: `${sim.url}?model=gpt-realtime`, headers: { 'openai-beta': 'realtime=v1' }, code: 'beta_api_shape_disabled' },
    ];
    for (const c of cases) {
      const client = await RealtimeTestClient.connect(c.url, { headers: c.headers });
      expect(await client.closed).toEqual({ code: 4000, reason: `invalid_request_error.${c.code}` });
      expect(client.types()).toEqual(['error']);
      expect(client.of('error')[0]!.error).toMatchObject({ type: 'invalid_request_error', code: c.code });
    }
  });

  it('benchmark mode echoes each append at once with the client event_id', async () => {
    const bench = await startSimulatorServer({ port: 0, benchmark: true });
    const c = await RealtimeTestClient.connect(`${bench.url}?model=gpt-realtime`);
    const audio = Buffer.alloc(960, 1).toString('base64');
    c.send({ type: 'input_audio_buffer.append', audio, event_id: 't:123' });
    const delta = await c.waitFor('response.output_audio.delta');
    expect(delta).toMatchObject({ event_id: 't:123', delta: audio });
    await c.close();
    await bench.close();
  });
});
