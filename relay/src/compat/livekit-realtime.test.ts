// LiveKit Agents' OpenAI plugin (`@livekit/agents-plugin-openai`), its RealtimeModel used standalone (no LiveKit
// room): `new RealtimeModel({ baseURL, apiKey })`, `.session()`, `generateReply()` and pushed audio frames —
// here against the relay's URL with an Earshot token, on the simulator.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initializeLogger, type llm } from '@livekit/agents';
import { realtime } from '@livekit/agents-plugin-openai';
import { AudioFrame } from '@livekit/rtc-node';
import { speechPcm16 } from '../testing/realtime-client.ts';
import type { TestRelay } from '../testing/start-relay.ts';
import { startCompatRelay } from './compat-relay.ts';

let relay: TestRelay;
let speech: Buffer;
let users = 0;

beforeAll(async () => {
  // The plugin logs through LiveKit's logger, which must exist first (a LiveKit worker sets it up).
  initializeLogger({ pretty: false, level: 'warn' });
  relay = await startCompatRelay();
  speech = speechPcm16('tell me something nice', 0.8);
});
afterAll(async () => {
  await relay.stop();
});

async function openSession() {
  const model = new realtime.RealtimeModel({ baseURL: `${relay.url}/v1`, apiKey: await relay.mint(`livekit-${++users}`), model: 'gpt-realtime', voice: 'marin' });
  const session = model.session();
  const errors: unknown[] = [];
  const serverEvents: Array<{ type: string }> = [];
  session.on('error', (e: unknown) => errors.push(e));
  session.on('openai_server_event_received', (e: { type: string }) => {
    serverEvents.push(e);
    if (e.type === 'error') errors.push(e);
  });
  return { model, session, errors, serverEvents };
}

/** The words of a generation's first message (the audio transcript when the reply is spoken). */
async function firstMessageText(generation: llm.GenerationCreatedEvent): Promise<string> {
  const reader = generation.messageStream.getReader();
  const { value: message } = await reader.read();
  reader.releaseLock();
  if (!message) return '';
  let text = '';
  for await (const chunk of message.textStream) text += typeof chunk === 'string' ? chunk : chunk.text;
  // Drain the audio so the generation can finish.
  for await (const frame of message.audioStream) void frame;
  return text;
}

describe('@livekit/agents-plugin-openai RealtimeModel standalone through the relay', () => {
  it('generateReply resolves (response.metadata.client_event_id comes back in response.created) with a spoken reply', async () => {
    const { session, errors } = await openSession();
    const generation = await session.generateReply();
    expect(generation.userInitiated).toBe(true);
    expect(await firstMessageText(generation)).toMatch(/^Echo: /);
    expect(errors).toEqual([]);
    await session.close();
  });

  it('answers a spoken turn pushed as audio frames, with the user transcription', async () => {
    const { session, errors } = await openSession();
    // Partial transcripts arrive as the deltas do (isFinal false), then the completed one.
    const transcribed = new Promise<{ transcript: string }>((resolve) =>
      session.on('input_audio_transcription_completed', (e: { transcript: string; isFinal: boolean }) => e.isFinal && resolve(e)),
    );
    const generated = new Promise<llm.GenerationCreatedEvent>((resolve) => session.on('generation_created', resolve));
    const samples = new Int16Array(speech.buffer, speech.byteOffset, speech.byteLength / 2);
    for (let i = 0; i + 480 <= samples.length; i += 480) session.pushAudio(new AudioFrame(samples.slice(i, i + 480), 24_000, 1, 480));
    expect((await transcribed).transcript).toMatch(/^\(\d+\.\d s of speech\)$/);
    expect(await firstMessageText(await generated)).toMatch(/^Echo: \d+\.\d s of speech heard$/);
    expect(errors).toEqual([]);
    await session.close();
  });
});
