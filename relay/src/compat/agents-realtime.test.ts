// The OpenAI Agents SDK (`@openai/agents-realtime`), used as its voice-agent guide shows for Node: a
// RealtimeAgent with instructions, voice and a function tool, in a RealtimeSession over OpenAIRealtimeWebSocket,
// connected with `{ apiKey, url }` — here the Earshot token and the relay's URL, on the simulator.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpenAIRealtimeWebSocket, RealtimeAgent, RealtimeSession, tool, type RealtimeItem } from '@openai/agents-realtime';
import { z } from 'zod';
import { speechPcm16 } from '../testing/realtime-client.ts';
import type { TestRelay } from '../testing/start-relay.ts';
import { until } from '../testing/until.ts';
import { startCompatRelay } from './compat-relay.ts';

let relay: TestRelay;
let speech: Buffer;

beforeAll(async () => {
  relay = await startCompatRelay();
  speech = speechPcm16('what is the weather like today', 0.8);
});
afterAll(async () => {
  await relay.stop();
});

const AGENT_INSTRUCTIONS = 'You are the compatibility-suite agent. Answer in one short sentence.';

let agents = 0;

async function connectAgent() {
  const calls: Array<{ city: string }> = [];
  const getWeather = tool({
    name: 'get_weather',
    description: 'The current weather in a city',
    parameters: z.object({ city: z.string() }),
    execute: async ({ city }) => {
      calls.push({ city });
      return `sunny in ${city}`;
    },
  });
  const agent = new RealtimeAgent({ name: 'Compat', instructions: AGENT_INSTRUCTIONS, voice: 'cedar', tools: [getWeather] });
  const session = new RealtimeSession(agent, { transport: new OpenAIRealtimeWebSocket(), model: 'gpt-realtime' });
  const errors: unknown[] = [];
  const serverEvents: Array<Record<string, unknown>> = [];
  session.on('error', (e) => errors.push(e.error));
  session.transport.on('*', (e: Record<string, unknown>) => {
    serverEvents.push(e);
    // Also the provider-shaped errors the SDK could not parse into its own event (those it can reach `errors` twice).
    if (e.type === 'error' && !errors.includes(e.error)) errors.push(e.error);
  });
  await session.connect({ apiKey: await relay.mint(`agent-${++agents}`), url: relay.wsUrl });
  return { session, errors, serverEvents, calls };
}

function assistantText(item: RealtimeItem): string | undefined {
  if (item.type !== 'message' || item.role !== 'assistant') return undefined;
  return item.content.map((c) => ('transcript' in c ? (c.transcript ?? '') : 'text' in c ? c.text : '')).join('');
}

describe('@openai/agents-realtime RealtimeSession through the relay', () => {
  it("applies the agent's instructions and voice (visible in session.updated) and answers a text turn", async () => {
    const { session, errors, serverEvents } = await connectAgent();
    const updated = await until('session.updated with the agent config', () =>
      serverEvents.find((e) => {
        const s = e.session as { instructions?: string; audio?: { output?: { voice?: string } } } | undefined;
        return e.type === 'session.updated' && s?.instructions === AGENT_INSTRUCTIONS && s.audio?.output?.voice === 'cedar';
      }),
    10_000);
    expect(updated).toBeTruthy();
    session.sendMessage('hello agent');
    const reply = await until('the echoed reply in history', () => session.history.map(assistantText).find((t) => t?.startsWith('Echo: you wrote')), 10_000);
    expect(reply).toBe('Echo: you wrote "hello agent"');
    expect(errors).toEqual([]);
    session.close();
  });

  it('puts the user transcript of a spoken turn in history, and keeps it there after the SDK retrieves the item', async () => {
    const { session, errors, serverEvents } = await connectAgent();
    await until('connected', () => session.transport.status === 'connected');
    for (let i = 0; i < speech.length; i += 4800) {
      // 100 ms of pcm16 24 kHz as its own ArrayBuffer, the type the SDK takes.
      session.sendAudio(Uint8Array.from(speech.subarray(i, i + 4800)).buffer);
    }
    const user = await until('a user audio item with its transcript', () =>
      session.history.find((item) => item.type === 'message' && item.role === 'user' && item.content.some((c) => c.type === 'input_audio' && !!c.transcript)),
    10_000);
    expect(user.type === 'message' && user.content[0]).toMatchObject({ type: 'input_audio', transcript: expect.stringMatching(/^\(\d+\.\d s of speech\)$/) });
    await until('the spoken reply', () => session.history.map(assistantText).find((t) => t?.endsWith('s of speech heard')), 10_000);
    // The SDK answers transcription.completed with conversation.item.retrieve and replaces its history item with
    // what comes back: the retrieved item must carry the transcript too, or the history loses it again.
    const retrieved = await until('conversation.item.retrieved for the user item', () => serverEvents.find((e) => e.type === 'conversation.item.retrieved' && (e.item as { id?: string }).id === user.itemId), 10_000);
    expect((retrieved.item as { content: unknown[] }).content).toEqual([expect.objectContaining({ type: 'input_audio', transcript: expect.stringMatching(/s of speech\)$/) })]);
    const kept = session.history.find((item) => item.itemId === user.itemId);
    expect(kept?.type === 'message' && kept.content[0]).toMatchObject({ type: 'input_audio', transcript: expect.stringMatching(/s of speech\)$/) });
    expect(errors).toEqual([]);
    session.close();
  });

  it('runs a function-tool round trip: the simulator calls get_weather, the SDK runs it, the reply quotes the output', async () => {
    const { session, errors, calls } = await connectAgent();
    session.sendMessage('Please use get_weather for my city.');
    const reply = await until('the reply quoting the tool output', () => session.history.map(assistantText).find((t) => t?.includes('returned')), 10_000);
    expect(calls).toEqual([{ city: 'example' }]);
    expect(reply).toBe('Echo: get_weather returned sunny in example');
    expect(session.history.some((item) => item.type === 'function_call' && item.name === 'get_weather' && item.output === 'sunny in example')).toBe(true);
    expect(errors).toEqual([]);
    session.close();
  });
});
