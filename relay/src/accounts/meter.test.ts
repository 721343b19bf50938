import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { base64FieldBytes, itemAudioBytes, PCM16_BYTES_PER_SECOND, SessionMeter, spokenSeconds } from './meter.ts';

const enc = new TextEncoder();

/** A JSON event with the base64 of `bytes` under `key`, other fields around it in any order, as the wire would carry it. */
const eventArb = (key: string) =>
  fc
    .record({
      bytes: fc.uint8Array({ maxLength: 3000 }),
      unpadded: fc.boolean(),
      escapeSlashes: fc.boolean(),
      keyFirst: fc.boolean(),
      spaces: fc.constantFrom('', ' ', '\n  '),
      eventId: fc.string({ maxLength: 40 }),
      asBytes: fc.boolean(),
    })
    .map(({ bytes, unpadded, escapeSlashes, keyFirst, spaces, eventId, asBytes }) => {
      let b64 = Buffer.from(bytes).toString('base64');
      if (unpadded) b64 = b64.replace(/=+$/, '');
      // JSON allows `\/`; some encoders (PHP) write it. Splice the escape into the JSON string text.
      let value = JSON.stringify(b64);
      if (escapeSlashes) value = value.replaceAll('/', '\\/');
      const type = `"type":${spaces}"input_audio_buffer.append"`;
      const id = `"event_id":${spaces}${JSON.stringify(eventId)}`;
      const field = `"${key}"${spaces}:${spaces}${value}`;
      const text = `{${spaces}${(keyFirst ? [field, type, id] : [type, id, field]).join(`,${spaces}`)}${spaces}}`;
      return { expected: bytes.length, frame: asBytes ? enc.encode(text) : text, text };
    });

describe('base64FieldBytes', () => {
  it('equals the decoded length Buffer computes, for any audio, padding, escaping, field order and spacing', () => {
    fc.assert(
      fc.property(eventArb('audio'), ({ expected, frame, text }) => {
        expect(JSON.parse(text).audio.length > 0 || expected === 0).toBe(true);
        expect(base64FieldBytes(frame, 'audio', 512)).toBe(expected);
        expect(Buffer.from(JSON.parse(text).audio as string, 'base64').length).toBe(expected);
      }),
      { numRuns: 400 },
    );
  });

  it('reads the delta of a server audio event given as a string or as bytes', () => {
    const pcm = Buffer.alloc(9600, 7);
    const event = JSON.stringify({ type: 'response.output_audio.delta', event_id: 'e1', response_id: 'r', item_id: 'i', output_index: 0, content_index: 0, delta: pcm.toString('base64') });
    expect(base64FieldBytes(event, 'delta')).toBe(9600);
    expect(base64FieldBytes(enc.encode(event), 'delta')).toBe(9600);
  });

  it('is not fooled by a decoy key or by key text inside another value', () => {
    const big = Buffer.alloc(4800).toString('base64');
    const decoy = JSON.stringify({ type: 'input_audio_buffer.append', extra: { audio: 'AAAA' }, audio: big });
    expect(base64FieldBytes(enc.encode(decoy), 'audio', 512)).toBe(4800);
    const quoted = JSON.stringify({ type: 'input_audio_buffer.append', event_id: '"audio":"AAAA"', audio: big });
    expect(base64FieldBytes(enc.encode(quoted), 'audio', 512)).toBe(4800);
  });

  it('counts nothing for a frame without the field, a non-string field, or broken JSON', () => {
    expect(base64FieldBytes(enc.encode('{"type":"input_audio_buffer.append"}'), 'audio', 512)).toBe(0);
    expect(base64FieldBytes(enc.encode('{"type":"input_audio_buffer.append","audio":12}'), 'audio', 512)).toBe(0);
    expect(base64FieldBytes(enc.encode('{"type":"input_audio_buffer.append","audio":"AAAA'), 'audio', 512)).toBe(0);
  });
});

describe('SessionMeter', () => {
  const append = (bytes: number) => enc.encode(JSON.stringify({ type: 'input_audio_buffer.append', audio: Buffer.alloc(bytes).toString('base64') }));
  const delta = (bytes: number) => JSON.stringify({ type: 'response.output_audio.delta', event_id: 'e', response_id: 'r', item_id: 'i', output_index: 0, content_index: 0, delta: Buffer.alloc(bytes).toString('base64') });
  const done = JSON.stringify({
    type: 'response.done',
    event_id: 'e9',
    response: { id: 'r', status: 'completed', usage: { total_tokens: 60, input_tokens: 25, output_tokens: 35, input_token_details: { text_tokens: 5, audio_tokens: 20, cached_tokens: 0 }, output_token_details: { text_tokens: 7, audio_tokens: 28 } } },
  });

  it('counts input and output audio seconds, tokens from response.done, and connected time', () => {
    const m = new SessionMeter(1_000);
    for (let i = 0; i < 50; i++) m.onClientFrame('input_audio_buffer.append', append(960)); // 50 × 20 ms = 1 s
    m.onClientFrame('session.update', enc.encode('{"type":"session.update","session":{"type":"realtime"}}'));
    m.onServerFrame('response.output_audio.delta', delta(PCM16_BYTES_PER_SECOND / 2));
    m.onServerFrame('response.output_audio.delta', enc.encode(delta(PCM16_BYTES_PER_SECOND / 2)));
    m.onServerFrame('response.done', done);
    m.onServerFrame('response.done', '{not json');
    const s = m.snapshot(3_500);
    expect(s).toEqual({ connectedMs: 2_500, inputAudioBytes: 48_000, outputAudioBytes: 48_000, textInputTokens: 5, audioInputTokens: 20, textOutputTokens: 7, audioOutputTokens: 28 });
    expect(spokenSeconds(s)).toBe(2);
  });

  it('counts the GA alias session.input_audio_buffer.append as input audio too', () => {
    const m = new SessionMeter(0);
    const aliased = enc.encode(JSON.stringify({ type: 'session.input_audio_buffer.append', audio: Buffer.alloc(960).toString('base64') }));
    m.onClientFrame('session.input_audio_buffer.append', aliased);
    expect(m.snapshot(0).inputAudioBytes).toBe(960);
  });

  it('hands out each count exactly once across take() calls and reports the untaken rest as pending', () => {
    const m = new SessionMeter(0);
    m.onClientFrame('input_audio_buffer.append', append(960));
    const first = m.take(500);
    expect(first.inputAudioBytes).toBe(960);
    expect(first.connectedMs).toBe(500);
    m.onClientFrame('input_audio_buffer.append', append(960));
    expect(m.pending(700)).toMatchObject({ inputAudioBytes: 960, connectedMs: 200 });
    const second = m.take(1_000);
    expect(second).toMatchObject({ inputAudioBytes: 960, connectedMs: 500 });
    expect(m.take(1_000)).toMatchObject({ inputAudioBytes: 0, connectedMs: 0 });
  });

  it('counts every billed input and output token of response.done, image tokens and any kind not itemised as text', () => {
    const m = new SessionMeter(0);
    // An input_image part: the provider bills its tokens inside input_tokens.
    const withImage = { total_tokens: 1130, input_tokens: 1100, output_tokens: 30, input_token_details: { text_tokens: 40, audio_tokens: 60, image_tokens: 1000, cached_tokens: 0 }, output_token_details: { text_tokens: 30, audio_tokens: 0 } };
    // A total the details do not explain (a kind of token this relay does not know yet): still billed, so metered.
    const unexplained = { total_tokens: 90, input_tokens: 50, output_tokens: 40, input_token_details: { text_tokens: 10, audio_tokens: 20 }, output_token_details: { text_tokens: 5, audio_tokens: 25 } };
    for (const usage of [withImage, unexplained]) m.onServerFrame('response.done', JSON.stringify({ type: 'response.done', response: { id: 'r', usage } }));
    const s = m.snapshot(0);
    expect(s).toMatchObject({ textInputTokens: 1040 + 30, audioInputTokens: 60 + 20, textOutputTokens: 30 + 15, audioOutputTokens: 25 });
    expect(s.textInputTokens + s.audioInputTokens + s.textOutputTokens + s.audioOutputTokens).toBe(1130 + 90);
  });

  it("counts the input transcription's own bill (tokens), not a duration-billed one, and never throws on odd shapes", () => {
    const m = new SessionMeter(0);
    const completed = (usage: unknown) => JSON.stringify({ type: 'conversation.item.input_audio_transcription.completed', item_id: 'i', content_index: 0, transcript: 'hi', usage });
    m.onServerFrame('conversation.item.input_audio_transcription.completed', completed({ type: 'tokens', total_tokens: 25, input_tokens: 20, output_tokens: 5, input_token_details: { text_tokens: 0, audio_tokens: 20 } }));
    m.onServerFrame('conversation.item.input_audio_transcription.completed', enc.encode(completed({ type: 'duration', seconds: 3 })));
    for (const odd of [null, 7, { type: 'tokens', input_tokens: 'x' }]) m.onServerFrame('conversation.item.input_audio_transcription.completed', completed(odd));
    m.onServerFrame('conversation.item.input_audio_transcription.completed', '{broken');
    expect(m.snapshot(0)).toMatchObject({ audioInputTokens: 20, textInputTokens: 0, textOutputTokens: 5, audioOutputTokens: 0 });
  });

  it('never counts connected time backwards when the clock steps back', () => {
    const m = new SessionMeter(1_000);
    expect(m.take(900).connectedMs).toBe(0);
    expect(m.take(1_400).connectedMs).toBe(400);
  });
});

describe('itemAudioBytes (conversation.item.create, response.create input)', () => {
  it('counts every input_audio part and nothing else, and never throws on odd shapes', () => {
    const b64 = (n: number) => Buffer.alloc(n, 1).toString('base64');
    const event = { type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_audio', audio: b64(4801) }, { type: 'input_text', text: b64(999) }, { type: 'input_audio', audio: b64(10) }] } };
    expect(itemAudioBytes(JSON.stringify(event))).toBe(4811);
    expect(itemAudioBytes(enc.encode(JSON.stringify(event)))).toBe(4811);
    for (const odd of ['{', 'null', '{"item":null}', '{"item":{"content":{"type":"input_audio","audio":"AAAA"}}}', '{"item":{"content":[null,1,{"type":"input_audio","audio":7}]}}']) {
      expect(itemAudioBytes(odd), odd).toBe(0);
    }
  });

  it('counts the input_audio parts of the input items of a response.create (an out-of-band response hears them too)', () => {
    const b64 = (n: number) => Buffer.alloc(n, 1).toString('base64');
    const message = (...content: unknown[]) => ({ type: 'message', role: 'user', content });
    const event = { type: 'response.create', response: { conversation: 'none', input: [message({ type: 'input_audio', audio: b64(960) }), { type: 'item_reference', id: 'x' }, message({ type: 'input_text', text: 'and' }, { type: 'input_audio', audio: b64(41) })] } };
    expect(itemAudioBytes(JSON.stringify(event))).toBe(1001);
    for (const odd of ['{"type":"response.create"}', '{"response":null}', '{"response":{"input":{"content":[{"type":"input_audio","audio":"AAAA"}]}}}', '{"response":{"input":[null,3,{"content":null}]}}']) {
      expect(itemAudioBytes(odd), odd).toBe(0);
    }
  });

  it('adds that audio to the session meter as input', () => {
    const meter = new SessionMeter(0);
    meter.onClientFrame('conversation.item.create', JSON.stringify({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_audio', audio: Buffer.alloc(PCM16_BYTES_PER_SECOND).toString('base64') }] } }));
    meter.onClientFrame('response.create', JSON.stringify({ type: 'response.create', response: { input: [{ type: 'message', role: 'user', content: [{ type: 'input_audio', audio: Buffer.alloc(PCM16_BYTES_PER_SECOND).toString('base64') }] }] } }));
    expect(spokenSeconds(meter.snapshot(0))).toBe(2);
  });
});
