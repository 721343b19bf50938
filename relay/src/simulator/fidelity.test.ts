// The simulator against the shapes recorded from the live GA service (issue 13, "How the real GA service
// behaves"): a real `ws` client on the standalone server, every event read with JSON.parse.
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulatorServer, type SimulatorServer } from './server.ts';
import { WEBSOCKET_CLIENT_EVENT_TYPES } from '../../../protocol/realtime.ts';
import { RealtimeTestClient, speechPcm16 } from '../testing/realtime-client.ts';

const T0 = Date.UTC(2026, 0, 1);
let sim: SimulatorServer;
let speech: Buffer;

beforeAll(async () => {
  sim = await startSimulatorServer({ port: 0, now: () => T0 });
  speech = speechPcm16('hello there', 0.8);
});
afterAll(async () => {
  await sim.close();
});

async function connect(query = 'model=gpt-realtime'): Promise<RealtimeTestClient> {
  const c = await RealtimeTestClient.connect(`${sim.url}?${query}`);
  await c.waitFor('session.created');
  return c;
}

/** Events as plain JSON, for fields the `openai` types do not declare (obfuscation, object, expires_at). */
function raw(c: RealtimeTestClient): Array<Record<string, unknown>> {
  return c.events as unknown as Array<Record<string, unknown>>;
}

function userText(text: string, id?: string) {
  return { type: 'conversation.item.create', item: { ...(id ? { id } : {}), type: 'message', role: 'user', content: [{ type: 'input_text', text }] } };
}

describe('simulator fidelity to the GA service', () => {
  it('opens with session.created shaped like the provider: object, id, defaults, VAD 0.5/300/200, expires_at 60 min on', async () => {
    const c = await connect();
    const created = raw(c)[0]!;
    expect(created.type).toBe('session.created');
    expect(created.session).toEqual({
      type: 'realtime',
      object: 'realtime.session',
      id: expect.stringMatching(/^sess_/),
      model: 'gpt-realtime',
      output_modalities: ['audio'],
      instructions: expect.any(String),
      tools: [],
      tool_choice: 'auto',
      max_output_tokens: 'inf',
      tracing: null,
      truncation: 'auto',
      prompt: null,
      include: null,
      expires_at: T0 / 1000 + 3600,
      audio: {
        input: {
          format: { type: 'audio/pcm', rate: 24000 },
          transcription: null,
          noise_reduction: null,
          turn_detection: { type: 'server_vad', threshold: 0.5, prefix_padding_ms: 300, silence_duration_ms: 200, idle_timeout_ms: null, create_response: true, interrupt_response: true },
        },
        output: { format: { type: 'audio/pcm', rate: 24000 }, voice: 'marin', speed: 1 },
      },
    });
    await c.close();
  });

  it('runs a text turn in the provider order, rate_limits.updated (tokens only) after response.done, deltas with obfuscation', async () => {
    const c = await connect();
    c.send({ type: 'session.update', session: { type: 'realtime', output_modalities: ['text'] } });
    await c.waitFor('session.updated');
    const from = c.events.length;
    c.send(userText('a longer sentence so that the reply needs several deltas'));
    c.send({ type: 'response.create' });
    await c.waitFor('rate_limits.updated');
    const turn = raw(c).slice(from);
    const types = turn.map((e) => e.type as string);
    const collapsed = types.filter((t, i) => t !== 'response.output_text.delta' || types[i - 1] !== t);
    expect(collapsed).toEqual([
      'conversation.item.added',
      'conversation.item.done',
      'response.created',
      'response.output_item.added',
      'conversation.item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'conversation.item.done',
      'response.output_item.done',
      'response.done',
      'rate_limits.updated',
    ]);
    const deltas = turn.filter((e) => e.type === 'response.output_text.delta');
    expect(deltas.length).toBeGreaterThan(1);
    for (const d of deltas) expect(typeof d.obfuscation).toBe('string');
    const assistantAdded = turn.filter((e) => e.type === 'conversation.item.added')[1] as { item: { role: string; content: unknown[] } };
    expect(assistantAdded.item).toMatchObject({ role: 'assistant', content: [] });
    const limits = turn.at(-1) as { rate_limits: Array<{ name: string }> };
    expect(limits.rate_limits.map((l) => l.name)).toEqual(['tokens']);
    await c.close();
  });

  it('runs a spoken turn in the same frame: VAD, the user item, then the response with output_audio + output_audio_transcript, then rate_limits.updated', async () => {
    const c = await connect();
    // The relay's VAD timing (500 ms of silence ends a turn; the provider's default 200 ms splits espeak's pauses).
    c.send({ type: 'session.update', session: { type: 'realtime', audio: { input: { turn_detection: { type: 'server_vad', silence_duration_ms: 500 } } } } });
    await c.waitFor('session.updated');
    const from = c.events.length;
    c.appendAudio(speech);
    await c.waitFor('rate_limits.updated', { from });
    const turn = raw(c).slice(from);
    expect(turn.filter((e) => !(e.type as string).endsWith('.delta')).map((e) => e.type)).toEqual([
      'input_audio_buffer.speech_started',
      'input_audio_buffer.speech_stopped',
      'input_audio_buffer.committed',
      'conversation.item.added',
      'conversation.item.done',
      'response.created',
      'response.output_item.added',
      'conversation.item.added',
      'response.content_part.added',
      'response.output_audio.done',
      'response.output_audio_transcript.done',
      'response.content_part.done',
      'conversation.item.done',
      'response.output_item.done',
      'response.done',
      'rate_limits.updated',
    ]);
    // Every delta streams between the content part's added and the audio's done, the transcript's with obfuscation.
    const types = turn.map((e) => e.type as string);
    const deltas = types.map((t, i) => [t, i] as const).filter(([t]) => t.endsWith('.delta'));
    expect(new Set(deltas.map(([t]) => t))).toEqual(new Set(['response.output_audio.delta', 'response.output_audio_transcript.delta']));
    for (const [, i] of deltas) expect(i).toBeGreaterThan(types.indexOf('response.content_part.added'));
    for (const [, i] of deltas) expect(i).toBeLessThan(types.indexOf('response.output_audio.done'));
    for (const d of turn.filter((e) => e.type === 'response.output_audio_transcript.delta')) expect(typeof d.obfuscation).toBe('string');
    const [userAdded, assistantAdded] = turn.filter((e) => e.type === 'conversation.item.added') as Array<{ item: { role: string; content: unknown[] } }>;
    expect(userAdded!.item).toMatchObject({ role: 'user', content: [{ type: 'input_audio' }] });
    expect(assistantAdded!.item).toMatchObject({ role: 'assistant', content: [] });
    expect(turn.find((e) => e.type === 'response.content_part.added')).toMatchObject({ part: { type: 'audio' } });
    const done = turn.find((e) => e.type === 'response.done') as { response: { output: Array<{ content: unknown[] }> } };
    expect(done.response.output[0]!.content).toEqual([expect.objectContaining({ type: 'output_audio', transcript: expect.stringMatching(/^Echo: /) })]);
    expect((turn.at(-1) as { rate_limits: Array<{ name: string }> }).rate_limits.map((l) => l.name)).toEqual(['tokens']);
    await c.close();
  });

  it('shapes response objects like the provider: usage null on created, status_details, conversation_id, metadata echoed, full usage details', async () => {
    const c = await connect();
    c.send(userText('hi'));
    c.send({ type: 'response.create', response: { metadata: { client_event_id: 'ce_1' } } });
    const done = await c.waitFor('response.done');
    const created = raw(c).find((e) => e.type === 'response.created') as { response: Record<string, unknown> };
    expect(created.response).toEqual({
      id: expect.stringMatching(/^resp_/),
      object: 'realtime.response',
      status: 'in_progress',
      status_details: null,
      output: [],
      conversation_id: expect.stringMatching(/^conv_/),
      output_modalities: ['audio'],
      max_output_tokens: 'inf',
      audio: { output: { format: { type: 'audio/pcm', rate: 24000 }, voice: 'marin' } },
      usage: null,
      metadata: { client_event_id: 'ce_1' },
    });
    expect(done.response).toMatchObject({ status: 'completed', status_details: null, metadata: { client_event_id: 'ce_1' } });
    expect(done.response.usage).toEqual({
      input_tokens: expect.any(Number),
      output_tokens: expect.any(Number),
      total_tokens: expect.any(Number),
      input_token_details: { text_tokens: expect.any(Number), audio_tokens: 0, image_tokens: 0, cached_tokens: 0, cached_tokens_details: { text_tokens: 0, audio_tokens: 0, image_tokens: 0 } },
      output_token_details: { text_tokens: expect.any(Number), audio_tokens: expect.any(Number) },
    });
    const u = done.response.usage!;
    expect(u.total_tokens).toBe(u.input_tokens! + u.output_tokens!);
    await c.close();
  });

  it("honours response.create's parameters: instructions, output_modalities, out-of-band conversation none, input items", async () => {
    const c = await connect();
    c.send(userText('in the conversation', 'item_conv'));
    await c.waitFor('conversation.item.done');
    const from = c.events.length;
    c.send({
      type: 'response.create',
      response: {
        conversation: 'none',
        output_modalities: ['text'],
        instructions: 'Summarise in one word. '.repeat(20),
        input: [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'out of band words' }] }],
        metadata: { topic: 'oob' },
      },
    });
    const done = await c.waitFor('response.done', { from });
    const after = c.types().slice(from);
    expect(after).not.toContain('conversation.item.added');
    expect(after).not.toContain('conversation.item.done');
    expect(done.response).toMatchObject({ conversation_id: null, output_modalities: ['text'], metadata: { topic: 'oob' } });
    expect((await c.waitFor('response.output_text.done', { from })).text).toBe('Echo: you wrote "out of band words"');
    // The per-response instructions are what the model read: 20 repeats are ~115 input tokens.
    expect(done.response.usage!.input_tokens).toBeGreaterThan(100);
    // The out-of-band reply is not in the conversation: a normal response still answers the conversation.
    c.send({ type: 'response.create', response: { output_modalities: ['text'] } });
    const next = await c.waitFor('response.output_text.done', { from: c.events.length });
    expect(next.text).toBe('Echo: you wrote "in the conversation"');
    await c.close();
  });

  it('keeps the session open on errors, with the provider codes and event_id echoed or null', async () => {
    const c = await connect();
    c.send('{not json');
    c.send({ type: 'no.such.event', event_id: 'evt_a' });
    c.send({ type: 'session.update', event_id: 'evt_b', session: { type: 'realtime', instructions: 'changed', bogus_field: 1 } });
    await c.waitFor('error', { where: () => c.of('error').length >= 3 });
    const [json, unknown, param] = c.of('error').map((e) => e.error);
    expect(json).toMatchObject({ type: 'invalid_request_error', code: 'invalid_json', event_id: null });
    expect(unknown).toMatchObject({ code: 'invalid_value', param: 'type', event_id: 'evt_a' });
    expect(unknown!.message).toContain(`Supported values are: ${WEBSOCKET_CLIENT_EVENT_TYPES.map((t) => `'${t}'`).join(', ')}.`);
    expect(WEBSOCKET_CLIENT_EVENT_TYPES).toHaveLength(12);
    expect(param).toMatchObject({ code: 'unknown_parameter', param: 'session.bogus_field', event_id: 'evt_b' });
    // The whole update was discarded: the instructions did not change.
    c.send({ type: 'session.update', session: { type: 'realtime' } });
    const updated = await c.waitFor('session.updated');
    expect(updated.session.type === 'realtime' && updated.session.instructions).not.toBe('changed');
    await c.close();
  });

  it('input_audio_buffer.clear during speech: cleared, the fragment dropped, no commit and no speech_stopped for it; the next words are a turn of their own', async () => {
    const c = await connect();
    c.send({ type: 'session.update', session: { type: 'realtime', audio: { input: { transcription: { model: 'gpt-4o-mini-transcribe' }, turn_detection: { type: 'server_vad', silence_duration_ms: 500, create_response: false } } } } });
    await c.waitFor('session.updated');
    const bytesPerSecond = 48_000;
    // speechPcm16 pads 0.8 s of silence on both sides: 1.6 s in is mid-word.
    c.appendAudio(speech.subarray(0, Math.round(1.6 * bytesPerSecond) & ~1));
    await c.waitFor('input_audio_buffer.speech_started');
    c.send({ type: 'input_audio_buffer.clear' });
    await c.waitFor('input_audio_buffer.cleared');
    c.appendAudio(new Uint8Array(2 * bytesPerSecond)); // 2 s of silence: would end a turn still in progress
    c.appendAudio(speech);
    const committed = await c.waitFor('input_audio_buffer.committed');
    const types = c.events.map((e) => e.type).filter((t) => t.startsWith('input_audio_buffer.'));
    expect(types).toEqual(['input_audio_buffer.speech_started', 'input_audio_buffer.cleared', 'input_audio_buffer.speech_started', 'input_audio_buffer.speech_stopped', 'input_audio_buffer.committed']);
    // The turn holds the new words only (prefix padding included), not the cleared fragment or the silence.
    const done = await c.waitFor('conversation.item.input_audio_transcription.completed', { where: (e) => e.type === 'conversation.item.input_audio_transcription.completed' && e.item_id === committed.item_id });
    const seconds = Number(/\(([\d.]+) s of speech\)/.exec(done.transcript)?.[1]);
    expect(seconds).toBeGreaterThan(0.5);
    expect(seconds).toBeLessThan(speech.byteLength / bytesPerSecond - 0.8 + 0.1);
    await c.close();
  });

  it('answers a binary frame with invalid_event and goes on', async () => {
    const c = await connect();
    c.socket.send(Buffer.from([1, 2, 3]), { binary: true });
    expect((await c.waitFor('error')).error).toMatchObject({ code: 'invalid_event', event_id: null });
    c.send({ type: 'input_audio_buffer.clear' });
    await c.waitFor('input_audio_buffer.cleared');
    await c.close();
  });

  it('transcribes input word by word with obfuscation, completes with token usage, and retrieve returns the transcript', async () => {
    const c = await connect();
    c.send({ type: 'session.update', session: { type: 'realtime', audio: { input: { turn_detection: null, transcription: { model: 'gpt-4o-mini-transcribe' } } } } });
    await c.waitFor('session.updated');
    c.appendAudio(speech);
    c.send({ type: 'input_audio_buffer.commit' });
    const completed = await c.waitFor('conversation.item.input_audio_transcription.completed');
    const deltas = raw(c).filter((e) => e.type === 'conversation.item.input_audio_transcription.delta') as Array<{ delta: string; obfuscation: unknown }>;
    expect(deltas.length).toBeGreaterThan(1);
    for (const d of deltas) expect(typeof d.obfuscation).toBe('string');
    expect(deltas.map((d) => d.delta).join('')).toBe(completed.transcript);
    expect(completed.usage).toMatchObject({ type: 'tokens', input_tokens: expect.any(Number), output_tokens: expect.any(Number), total_tokens: expect.any(Number) });
    c.send({ type: 'conversation.item.retrieve', item_id: completed.item_id });
    const retrieved = await c.waitFor('conversation.item.retrieved');
    expect(retrieved.item).toMatchObject({ id: completed.item_id, type: 'message', role: 'user', content: [{ type: 'input_audio', transcript: completed.transcript }] });
    await c.close();
  });

  it('runs a transcription session (?intent=transcription): VAD, commit, item, transcription; no responses, no rate limits', async () => {
    const c = await connect('intent=transcription');
    const created = raw(c)[0] as { session: Record<string, unknown> };
    expect(created.session).toMatchObject({ type: 'transcription', object: 'realtime.transcription_session', id: expect.stringMatching(/^sess_/) });
    c.send({ type: 'session.update', session: { type: 'transcription', audio: { input: { turn_detection: { type: 'server_vad', silence_duration_ms: 500 } } } } });
    await c.waitFor('session.updated');
    c.appendAudio(speech);
    const completed = await c.waitFor('conversation.item.input_audio_transcription.completed');
    expect(completed.transcript).toMatch(/s of speech\)$/);
    const types = c.types();
    for (const t of ['input_audio_buffer.speech_started', 'input_audio_buffer.speech_stopped', 'input_audio_buffer.committed', 'conversation.item.added', 'conversation.item.done', 'conversation.item.input_audio_transcription.delta']) expect(types).toContain(t);
    const deltas = raw(c).filter((e) => e.type === 'conversation.item.input_audio_transcription.delta') as Array<{ delta: string; obfuscation: unknown }>;
    expect(deltas.map((d) => d.delta).join('')).toBe(completed.transcript);
    for (const d of deltas) expect(typeof d.obfuscation).toBe('string');
    expect(completed.usage).toMatchObject({ type: 'tokens' });
    expect(types.filter((t) => t.startsWith('response.') || t === 'rate_limits.updated')).toEqual([]);
    await c.close();
  });

  it('pings idle sessions (every 20 s on the provider; shortened here)', async () => {
    const pinging = await startSimulatorServer({ port: 0, pingIntervalMs: 40 });
    const ws = new WebSocket(`${pinging.url}?model=gpt-realtime`);
    const pinged = new Promise<void>((resolve) => ws.once('ping', () => resolve()));
    await pinged;
    ws.close();
    await pinging.close();
  });

  it('closes on session.close', async () => {
    const c = await connect();
    c.send({ type: 'session.close' });
    expect((await c.closed).code).toBe(1000);
  });
});

describe('simulated function tools over the wire', () => {
  const tool = {
    type: 'function',
    name: 'get_weather',
    description: 'Current weather',
    parameters: { type: 'object', properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } }, required: ['city', 'unit'], additionalProperties: false },
  };

  it('calls a tool the user names, waits for function_call_output + response.create, then quotes the output', async () => {
    const c = await connect();
    c.send({ type: 'session.update', session: { type: 'realtime', output_modalities: ['text'], tools: [tool] } });
    await c.waitFor('session.updated');
    c.send(userText('What does get_weather say for Paris?'));
    c.send({ type: 'response.create' });
    const first = await c.waitFor('response.done');
    const call = first.response.output?.[0];
    expect(call).toMatchObject({ type: 'function_call', name: 'get_weather', status: 'completed', call_id: expect.stringMatching(/^call_/) });
    const args = await c.waitFor('response.function_call_arguments.done');
    expect(JSON.parse(args.arguments)).toEqual({ city: 'example', unit: 'celsius' });
    expect(c.types()).not.toContain('response.output_text.delta');
    const from = c.events.length;
    const callId = call?.type === 'function_call' ? call.call_id : '';
    c.send({ type: 'conversation.item.create', item: { type: 'function_call_output', call_id: callId, output: '{"temp":21}' } });
    const added = await c.waitFor('conversation.item.added', { from });
    expect(added.item).toMatchObject({ type: 'function_call_output', call_id: callId });
    c.send({ type: 'response.create' });
    const text = await c.waitFor('response.output_text.done', { from });
    expect(text.text).toBe('Echo: get_weather returned {"temp":21}');
    expect(c.of('error')).toEqual([]);
    await c.close();
  });
});
