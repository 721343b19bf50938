import { describe, expect, it } from 'vitest';
import { decodeBase64 } from '../../dsp/base64.ts';
import { CaptureSender } from './capture-sender.ts';

const loud = 0.3; // about -10 dBFS
const quiet = 0.005; // about -46 dBFS

function frame(rate: number): Float32Array {
  return new Float32Array(rate / 50).fill(0.1);
}

describe('CaptureSender', () => {
  it('turns each 20 ms frame at 48 kHz into one 960-byte pcm16 append', () => {
    const s = new CaptureSender(48_000);
    const events = s.onFrame(frame(48_000), loud, { capturing: true, assistantAudible: false, echoOnset: false, echoCoherent: false });
    expect(events).toHaveLength(1);
    const e = events[0] as { type: string; audio: string };
    expect(e.type).toBe('input_audio_buffer.append');
    expect(decodeBase64(e.audio).length).toBe(960);
  });

  it('sends nothing while not capturing (muted, hold-to-talk released, disconnected)', () => {
    const s = new CaptureSender(44_100);
    expect(s.onFrame(frame(44_100), loud, { capturing: false, assistantAudible: false, echoOnset: false, echoCoherent: false })).toEqual([]);
  });

  it('holds quiet frames back while the assistant speaks and releases the pre-roll when the person talks over it', () => {
    const s = new CaptureSender(48_000);
    const ctx = { capturing: true, assistantAudible: true, echoOnset: false, echoCoherent: false };
    expect(s.onFrame(frame(48_000), quiet, ctx)).toEqual([]);
    // The guard wants 7 loud frames of the last 10 (barge-in-guard.ts): six are held back…
    for (let i = 0; i < 6; i++) expect(s.onFrame(frame(48_000), loud, ctx)).toEqual([]);
    // …and the seventh opens it, with everything held (the quiet frame and six loud ones) going out first.
    const opened = s.onFrame(frame(48_000), loud, ctx);
    expect(opened.length).toBe(8);
    expect(s.onFrame(frame(48_000), loud, ctx)).toHaveLength(1);
  });
});
