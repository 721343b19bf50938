import { describe, expect, it } from 'vitest';
import { createSimulatorUpstreamFactory } from './in-process.ts';
import type { UpstreamHandlers } from '../upstream/upstream.ts';

function recorder() {
  const log: string[] = [];
  let resolveClose!: (v: { code: number; reason: string }) => void;
  const closed = new Promise<{ code: number; reason: string }>((r) => (resolveClose = r));
  const handlers: UpstreamHandlers = {
    onOpen: () => log.push('open'),
    onMessage: (frame) => log.push(JSON.parse(String(frame)).type),
    onClose: (code, reason) => resolveClose({ code, reason }),
  };
  return { log, handlers, closed };
}

const tick = () => new Promise((r) => setTimeout(r, 20));

describe('in-process simulator upstream', () => {
  it('opens asynchronously, never inside the factory call', async () => {
    const r = recorder();
    createSimulatorUpstreamFactory()({ model: 'gpt-realtime', sessionId: 's', userId: 'u' }, r.handlers);
    expect(r.log).toEqual([]);
    await tick();
    expect(r.log).toEqual(['open', 'session.created']);
  });

  it('holds server events while paused and delivers them in order on resume', async () => {
    const r = recorder();
    const up = createSimulatorUpstreamFactory()({ model: 'gpt-realtime', sessionId: 's', userId: 'u' }, r.handlers);
    await tick();
    up.pause();
    up.send(new TextEncoder().encode(JSON.stringify({ type: 'input_audio_buffer.clear' })));
    up.send(JSON.stringify({ type: 'bogus' }));
    await tick();
    expect(r.log).toEqual(['open', 'session.created']);
    up.resume();
    expect(r.log).toEqual(['open', 'session.created', 'input_audio_buffer.cleared', 'error']);
  });

  it('reports close exactly once and ignores sends afterwards', async () => {
    const r = recorder();
    const up = createSimulatorUpstreamFactory()({ model: 'gpt-realtime', sessionId: 's', userId: 'u' }, r.handlers);
    await tick();
    up.close(1000, 'bye');
    up.close(1000, 'again');
    up.send('{"type":"input_audio_buffer.clear"}');
    expect(await r.closed).toEqual({ code: 1000, reason: 'bye' });
    await tick();
    expect(r.log).toEqual(['open', 'session.created']);
  });

  it('ends the session itself at maxSessionMs with session_expired', async () => {
    const r = recorder();
    createSimulatorUpstreamFactory({ maxSessionMs: 50 })({ model: 'gpt-realtime', sessionId: 's', userId: 'u' }, r.handlers);
    expect(await r.closed).toEqual({ code: 1000, reason: 'session_expired' });
    expect(r.log).toEqual(['open', 'session.created', 'error']);
  });
  it('keeps the session audio clock when turn detection is switched off and on again (audio_start_ms counts all audio)', async () => {
    const events: Array<{ type: string; audio_start_ms?: number }> = [];
    const up = createSimulatorUpstreamFactory()({ model: 'gpt-realtime', sessionId: 's', userId: 'u' }, {
      onOpen() {},
      onMessage: (frame) => events.push(JSON.parse(String(frame)) as { type: string }),
      onClose() {},
    });
    await tick();
    const append = (ms: number, amplitude: number) => {
      for (let t = 0; t < ms; t += 20) {
        const samples = new Int16Array(480).map((_, i) => Math.round(amplitude * Math.sin(i / 5)));
        up.send(JSON.stringify({ type: 'input_audio_buffer.append', audio: Buffer.from(samples.buffer).toString('base64') }));
      }
    };
    const vad = { type: 'server_vad', threshold: 0.5, prefix_padding_ms: 300, silence_duration_ms: 500 };
    up.send(JSON.stringify({ type: 'session.update', session: { type: 'realtime', audio: { input: { turn_detection: null } } } }));
    append(2000, 0); // two seconds with no VAD: still on the session's clock
    up.send(JSON.stringify({ type: 'session.update', session: { type: 'realtime', audio: { input: { turn_detection: vad } } } }));
    append(1000, 8000);
    await tick();
    const started = events.find((e) => e.type === 'input_audio_buffer.speech_started');
    expect(started?.audio_start_ms).toBe(2000 - 300);
    up.close(1000, 'done');
  });
});
