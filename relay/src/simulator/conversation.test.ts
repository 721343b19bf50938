// The simulator's conversation store on its own, with a context that records what it emits: what it keeps.
import { describe, expect, it } from 'vitest';
import { WIRE_SAMPLE_RATE } from '../../../protocol/constants.ts';
import type { SimContext } from './context.ts';
import { Conversation, MAX_KEPT_UTTERANCE_SAMPLES, type StoredItem } from './conversation.ts';

function recordingContext(): SimContext & { emitted: unknown[] } {
  let n = 0;
  const emitted: unknown[] = [];
  return {
    emitted,
    options: {} as SimContext['options'],
    emit: (event) => void emitted.push(event),
    id: (prefix) => `${prefix}_${++n}`,
    error: (code) => void emitted.push({ type: 'error', code }),
    session: () => ({}) as ReturnType<SimContext['session']>,
  };
}

const minute = WIRE_SAMPLE_RATE * 60;
const userAudio = (id: string): StoredItem => ({
  item: { id, type: 'message', role: 'user', object: 'realtime.item', status: 'completed', content: [{ type: 'input_audio', transcript: '(60.0 s of speech)' }] },
  audioSamples: minute,
  utterance: new Int16Array(minute).fill(7),
});

describe('the simulator conversation', () => {
  it('keeps at most two minutes of user audio however many long turns a client commits, the latest whole', () => {
    const conversation = new Conversation(recordingContext());
    // 150 one-minute turns: 432 MB of samples if all were kept (the relay's own memory with the in-process simulator).
    for (let i = 0; i < 150; i++) conversation.add(userAudio(`item_${i}`), { done: true });
    expect(conversation.keptUtteranceSamples()).toBeLessThanOrEqual(MAX_KEPT_UTTERANCE_SAMPLES);
    const items = conversation.all();
    expect(items.at(-1)!.utterance!.length).toBe(minute);
    expect(items.at(-1)!.utterance![minute - 1]).toBe(7);
    // Older turns are still audio messages of their length (usage estimates, truncate), without their samples.
    expect(items[0]!.audioSamples).toBe(minute);
    expect(items[0]!.utterance!.length).toBe(0);
  });
});
