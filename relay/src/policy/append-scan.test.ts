import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { base64FieldBytes, MAX_APPEND_OVERHEAD } from '../accounts/meter.ts';
import { scanAppend } from './append-scan.ts';

const enc = (s: string) => new TextEncoder().encode(s);
const audio = Buffer.alloc(960, 7).toString('base64');

describe('scanAppend: the verbatim fast path', () => {
  it('accepts a plain append in any key order, with spaces and an event_id', () => {
    expect(scanAppend(enc(JSON.stringify({ type: 'input_audio_buffer.append', audio })))).toBe('input_audio_buffer.append');
    expect(scanAppend(enc(`{"event_id":"e1","audio":"${audio}","type":"input_audio_buffer.append"}`))).toBe('input_audio_buffer.append');
    expect(scanAppend(enc(` {\n "type" : "session.input_audio_buffer.append" ,\t"audio":"" } \n`))).toBe('session.input_audio_buffer.append');
  });

  it('sends duplicate keys to the slow path', () => {
    for (const s of [
      `{"type":"input_audio_buffer.append","type":"session.update","audio":"AA"}`,
      `{"type":"input_audio_buffer.append","audio":"AA","audio":"BB"}`,
      `{"type":"input_audio_buffer.append","audio":"AA","event_id":"a","event_id":"b"}`,
    ])
      expect(scanAppend(enc(s))).toBeNull();
  });

  it('sends escaped keys and escaped values to the slow path', () => {
    for (const s of [
      `{"\\u0074ype":"session.update","type":"input_audio_buffer.append","audio":"AA"}`,
      `{"type":"input_audio_buffer.append","\\u0074ype":"session.update","audio":"AA"}`,
      `{"type":"input_audio_buffer\\u002eappend","audio":"AA"}`,
      `{"type":"input_audio_buffer.append","audio":"A\\/A"}`,
      `{"type":"input_audio_buffer.append","audio":"AA","event_id":"x\\"y"}`,
    ])
      expect(scanAppend(enc(s))).toBeNull();
  });

  it('sends anything but the three keys, string values, or trailing bytes to the slow path', () => {
    for (const s of [
      `{"type":"input_audio_buffer.append","audio":"AA","session":{"instructions":"x"}}`,
      `{"type":"input_audio_buffer.append","audio":["AA"]}`,
      `{"type":"input_audio_buffer.append","audio":"AA","event_id":5}`,
      `{"type":"input_audio_buffer.append","audio":"AA"}{"type":"session.update"}`,
      `{"type":"input_audio_buffer.append","audio":"AA"`,
      `{"type":"input_audio_buffer.append","audio":"AA",}`,
      `{"type":"input_audio_buffer.append"}`,
      `{"audio":"AA"}`,
      `{"type":"input_audio_buffer.appendx","audio":"AA"}`,
      `{"type":"input_audio_buffer.commit","audio":"AA"}`,
      `{"type":"input_audio_buffer.append","audio":"AA","event_id":"é"}`,
      `{"types":"input_audio_buffer.append","audio":"AA"}`,
      ``,
      `{`,
      `[]`,
    ])
      expect(scanAppend(enc(s))).toBeNull();
  });

  it('leaves other non-base64 bytes in the audio to the provider: they cannot change where any parser ends the string', () => {
    expect(scanAppend(enc(`{"type":"input_audio_buffer.append","audio":"A A!"}`))).toBe('input_audio_buffer.append');
    // a raw control byte makes the frame invalid JSON for every parser, so the provider refuses it whole
    expect(() => JSON.parse(`{"type":"input_audio_buffer.append","audio":"A\nA"}`)).toThrow();
  });

  it('never accepts a frame that JSON.parse reads as anything but exactly that plain append', () => {
    const piece = fc.oneof(
      fc.constantFrom('"type"', '"audio"', '"event_id"', '"\\u0074ype"', '"session"', ':', ',', '{', '}', ' ', '"input_audio_buffer.append"', '"session.update"', `"${audio.slice(0, 8)}"`, '"a\\"b"', '1', '[', ']'),
      fc.string({ maxLength: 4 }),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 16 }), (pieces) => {
        const text = pieces.join('');
        const type = scanAppend(enc(text));
        if (type === null) return;
        const value = JSON.parse(text) as Record<string, unknown>;
        expect(value.type).toBe(type);
        expect(Object.keys(value).every((k) => ['type', 'audio', 'event_id'].includes(k))).toBe(true);
        expect(typeof value.audio).toBe('string');
        // Exactly one spelling of `type` in the bytes: no second one a different parser could prefer.
        expect(text.split('"type"').length).toBe(2);
      }),
      { numRuns: 20_000 },
    );
  });

  it('never accepts an object whose members another parser or the meter could read differently (duplicates, escapes, extras)', () => {
    // Whole objects made of the members an attacker would combine, so duplicate and escaped keys are common.
    const key = fc.constantFrom('"type"', '"audio"', '"event_id"', '"\\u0074ype"', '"audi\\u006f"', '"session"');
    const value = fc.oneof(
      fc.constantFrom('"input_audio_buffer.append"', '"session.input_audio_buffer.append"', '"session.update"', '"input_audio_buffer\\u002eappend"', '"e1"', '"a\\"b"', '1', '{}', '[]', 'null'),
      fc.integer({ min: 0, max: 3000 }).map((n) => JSON.stringify(Buffer.alloc(n, 3).toString('base64'))),
    );
    const space = fc.constantFrom('', ' ', '\n\t');
    const member = fc.tuple(key, space, value).map(([k, sp, v]) => `${k}${sp}:${sp}${v}`);
    fc.assert(
      fc.property(fc.array(member, { minLength: 1, maxLength: 5 }), space, (members, sp) => {
        const text = `{${sp}${members.join(`,${sp}`)}${sp}}`;
        const type = scanAppend(enc(text));
        if (type === null) return;
        const value = JSON.parse(text) as Record<string, unknown>;
        expect(value.type).toBe(type);
        expect(Object.keys(value).every((k) => ['type', 'audio', 'event_id'].includes(k))).toBe(true);
        // Each key spelled exactly once: no second one that a parser keeping the first (or the last) would prefer.
        for (const k of ['"type"', '"audio"']) expect(text.split(k).length, text).toBe(2);
        expect(text.split('"event_id"').length).toBeLessThanOrEqual(2);
        // The meter counts the audio the provider will decode from these very bytes.
        expect(base64FieldBytes(enc(text), 'audio', MAX_APPEND_OVERHEAD)).toBe(Buffer.byteLength(value.audio as string, 'base64'));
      }),
      { numRuns: 20_000 },
    );
  });
});
