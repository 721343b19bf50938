import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { peekType } from './peek-type.ts';

const enc = (s: string) => new TextEncoder().encode(s);

describe('peekType', () => {
  it('reads the type of a big append from its first bytes', () => {
    expect(peekType(enc(`{"type":"input_audio_buffer.append","audio":"${'A'.repeat(100_000)}"}`))).toBe('input_audio_buffer.append');
    expect(peekType(enc(' { "type" : "response.create" }'))).toBe('response.create');
  });

  it('finds a top-level type that is not first, and ignores nested ones', () => {
    expect(peekType(enc('{"event_id":"x","type":"response.cancel"}'))).toBe('response.cancel');
    expect(peekType(enc('{"item":{"type":"message"},"type":"conversation.item.create"}'))).toBe('conversation.item.create');
    expect(peekType(enc('{"item":{"type":"message"}}'))).toBeNull();
  });

  it('reads the hot types of a conversation exactly, and near misses of them as spelled', () => {
    const types = ['response.output_audio.delta', 'response.output_audio_transcript.delta', 'response.output_text.delta', 'conversation.item.input_audio_transcription.delta', 'input_audio_buffer.append'];
    for (const type of types) {
      const frame = `{"type":"${type}","event_id":"e","delta":"AAAA"}`;
      expect(peekType(Buffer.from(frame))).toBe(type);
      expect(peekType(enc(frame))).toBe(type);
      // Same length, one byte off (first, middle, last): not taken for the hot type.
      for (const at of [0, type.length >> 1, type.length - 1]) {
        const near = type.slice(0, at) + (type[at] === 'x' ? 'y' : 'x') + type.slice(at + 1);
        expect(peekType(Buffer.from(`{"type":"${near}"}`))).toBe(near);
      }
      expect(peekType(Buffer.from(`{"type":"${type}s"}`))).toBe(`${type}s`);
    }
  });

  it('returns null for non-objects and bad JSON', () => {
    for (const s of ['', '[]', '"type"', '{"type":5}', 'null', '{"type":"x\\"y"}x', '{"a":1,"type":"b"']) expect(peekType(enc(s))).toBeNull();
  });

  it('does not validate the rest of a fast-path frame: the provider answers broken JSON itself', () => {
    expect(peekType(enc('{"type":"input_audio_buffer.append","audio":"AAA'))).toBe('input_audio_buffer.append');
  });

  it('agrees with JSON.parse on any JSON object', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 })), fc.option(fc.string({ maxLength: 40 })), (obj, type) => {
        const value: Record<string, unknown> = type === null ? obj : { type, ...obj };
        const json = JSON.stringify(value);
        const expected = typeof (JSON.parse(json) as { type?: unknown }).type === 'string' ? (JSON.parse(json) as { type: string }).type : null;
        expect(peekType(enc(json))).toBe(expected);
      }),
      { numRuns: 1000 },
    );
  });
});
