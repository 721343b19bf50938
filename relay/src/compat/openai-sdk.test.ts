// The official `openai` SDK's two Realtime clients, used as its README shows (a client with `baseURL` and
// `apiKey`; the Earshot token is the key), through the relay over TLS on the simulator.
// OpenAIRealtimeWS is the `ws`-based Node client; OpenAIRealtimeWebSocket is the one built on the runtime's
// WHATWG WebSocket (browsers, Node 22+), given undici's here because Node 20 has none without a flag.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { OpenAIRealtimeWS } from 'openai/realtime/ws';
import { OpenAIRealtimeWebSocket } from 'openai/realtime/websocket';
import { WebSocket as UndiciWebSocket } from 'undici';
import type { RealtimeServerEvent } from 'openai/resources/realtime/realtime';
import { speechPcm16 } from '../testing/realtime-client.ts';
import type { TestRelay } from '../testing/start-relay.ts';
import { selfSignedCert, startCompatRelay, trustingSelfSigned } from './compat-relay.ts';

let relay: TestRelay;
let speech: Buffer;

beforeAll(async () => {
  relay = await startCompatRelay({ tls: selfSignedCert() });
  speech = speechPcm16('hello from the official sdk', 0.8);
});
afterAll(async () => {
  await relay.stop();
});

interface Client {
  on(event: 'event', listener: (e: RealtimeServerEvent) => void): unknown;
  on(event: 'error', listener: (e: Error) => void): unknown;
  send(event: Parameters<OpenAIRealtimeWS['send']>[0]): void;
  close(): void;
}

/** Drives one text turn and one spoken turn; returns what the client saw. */
async function converse(rt: Client): Promise<{ text: string; spoken: string; errors: unknown[]; types: string[] }> {
  const errors: unknown[] = [];
  const types: string[] = [];
  const transcripts: string[] = [];
  let wake = (): void => {};
  rt.on('error', (err) => errors.push(err));
  rt.on('event', (e) => {
    types.push(e.type);
    if (e.type === 'error') errors.push(e.error);
    if (e.type === 'response.output_audio_transcript.done') transcripts.push(e.transcript);
    wake();
  });
  const next = (n: number) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out; saw ${types.join(', ')}`)), 15_000);
      wake = () => {
        if (transcripts.length >= n) {
          clearTimeout(timer);
          resolve();
        }
      };
      wake();
    });
  await new Promise<void>((resolve) => {
    const before = wake;
    wake = () => (types.includes('session.updated') ? resolve() : before());
  });
  rt.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hello from the sdk' }] } });
  rt.send({ type: 'response.create' });
  await next(1);
  for (let i = 0; i < speech.length; i += 960) rt.send({ type: 'input_audio_buffer.append', audio: speech.subarray(i, i + 960).toString('base64') });
  await next(2);
  rt.close();
  return { text: transcripts[0]!, spoken: transcripts[1]!, errors, types };
}

describe('openai SDK Realtime clients through the relay over TLS', () => {
  it('OpenAIRealtimeWS (Node, ws): a text turn and a spoken turn, no errors', async () => {
    const result = await trustingSelfSigned(async () => {
      const client = new OpenAI({ apiKey: await relay.mint('sdk-ws'), baseURL: `${relay.url}/v1` });
      return converse(new OpenAIRealtimeWS({ model: 'gpt-realtime' }, client));
    });
    expect(result.errors).toEqual([]);
    expect(result.text).toBe('Echo: you wrote "hello from the sdk"');
    expect(result.spoken).toMatch(/^Echo: \d+\.\d s of speech heard$/);
    expect(result.types).toContain('conversation.item.input_audio_transcription.completed');
  });

  it('OpenAIRealtimeWebSocket (WHATWG WebSocket, key in the subprotocol): a text turn and a spoken turn, no errors', async () => {
    const original = globalThis.WebSocket;
    globalThis.WebSocket = UndiciWebSocket as unknown as typeof globalThis.WebSocket;
    try {
      const result = await trustingSelfSigned(async () => {
        const client = new OpenAI({ apiKey: await relay.mint('sdk-browser'), baseURL: `${relay.url}/v1` });
        return converse(new OpenAIRealtimeWebSocket({ model: 'gpt-realtime' }, client));
      });
      expect(result.errors).toEqual([]);
      expect(result.text).toBe('Echo: you wrote "hello from the sdk"');
      expect(result.spoken).toMatch(/^Echo: \d+\.\d s of speech heard$/);
    } finally {
      globalThis.WebSocket = original;
    }
  });
});
