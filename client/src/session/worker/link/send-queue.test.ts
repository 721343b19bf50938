import { describe, expect, it } from 'vitest';
import { AudioUpFlags, decodeAppFrame } from '../../../../../protocol/app-link.ts';
import { SendQueue } from './send-queue.ts';

const packet = (captureMs: number, held = false) => ({ captureMs, durationMs: 40, opus: Uint8Array.of(0xfc, captureMs & 0xff, 1), held });
type Out = Uint8Array | string;
const header = (frame: Out) => {
  if (typeof frame === 'string') throw new Error(`not AudioUp: ${frame}`);
  const d = decodeAppFrame(frame);
  if (!d.ok || d.header.kind !== 1) throw new Error('not AudioUp');
  return d.header;
};

describe('SendQueue (fresh audio first)', () => {
  it('sends queued packets oldest first with their capture time and no flag while nothing was dropped', () => {
    const q = new SendQueue(300);
    q.push(packet(0));
    q.push(packet(40));
    const sent: Out[] = [];
    expect(q.drain(80, () => true, (f) => sent.push(f))).toBe(2);
    expect(sent.map(header)).toEqual([
      { kind: 1, flags: 0, captureMs: 0 },
      { kind: 1, flags: 0, captureMs: 40 },
    ]);
  });

  it('holds at most 300 ms of audio while the socket cannot take more, dropping the oldest', () => {
    const q = new SendQueue(300);
    for (let t = 0; t < 10_000; t += 40) q.push(packet(t));
    expect(q.queuedMs).toBeLessThanOrEqual(300);
    const sent: Out[] = [];
    q.drain(10_000, () => true, (f) => sent.push(f));
    expect(header(sent[0]!).captureMs).toBeGreaterThanOrEqual(10_000 - 300 - 40);
    expect(header(sent.at(-1)!).captureMs).toBe(9960);
    expect(q.dropped).toBe(250 - sent.length);
  });

  it('marks the first packet after a drop with the Discontinuity flag, and only that one', () => {
    const q = new SendQueue(300);
    for (let t = 0; t < 1000; t += 40) q.push(packet(t));
    const sent: Out[] = [];
    q.drain(1000, () => true, (f) => sent.push(f));
    q.push(packet(1000));
    q.drain(1040, () => true, (f) => sent.push(f));
    expect(sent.map((f) => header(f).flags)).toEqual([AudioUpFlags.Discontinuity, ...Array(sent.length - 1).fill(0)]);
  });

  it('drops packets that are stale relative to the newest even across a silent (DTX) gap', () => {
    const q = new SendQueue(300);
    q.push(packet(0));
    q.push(packet(5000));
    expect(q.length).toBe(1);
    expect(q.pendingDiscontinuity).toBe(true);
  });

  it('does NOT send the last word before a silence once it is older than 300 ms on the capture clock (no newer packet pushes it out)', () => {
    // Speech, then the link goes down: silence sends no packets, so nothing newer ever arrives to trim the queue.
    const q = new SendQueue(300);
    for (let t = 0; t < 1000; t += 40) q.push(packet(t));
    // The link is back 10 s later; the capture clock is at 11 s.
    const sent: Out[] = [];
    expect(q.drain(11_000, () => true, (f) => sent.push(f))).toBe(0);
    expect(q.length).toBe(0);
    expect(q.dropped).toBe(25);
    // What the person says now goes out, flagged: the relay cuts the provider's buffer before it.
    q.push(packet(11_000));
    q.drain(11_040, () => true, (f) => sent.push(f));
    expect(sent.map(header)).toEqual([{ kind: 1, flags: AudioUpFlags.Discontinuity, captureMs: 11_000 }]);
  });

  it('keeps a packet that is still fresh on the capture clock', () => {
    const q = new SendQueue(300);
    q.push(packet(1000));
    const sent: Out[] = [];
    expect(q.drain(1300, () => true, (f) => sent.push(f))).toBe(1);
    expect(header(sent[0]!).flags).toBe(0);
  });

  it('sends only while the socket can take more', () => {
    const q = new SendQueue(300);
    for (let t = 0; t < 200; t += 40) q.push(packet(t));
    let budget = 2;
    expect(q.drain(200, () => budget-- > 0, () => undefined)).toBe(2);
    expect(q.length).toBe(3);
  });

  it('keeps held (hold-to-talk) audio while the link is slow: a 2 s stall mid-hold loses nothing and cuts nothing', () => {
    const q = new SendQueue(300, 5000);
    for (let t = 0; t < 2000; t += 40) q.push(packet(t, true));
    const sent: Out[] = [];
    expect(q.drain(2000, () => true, (f) => sent.push(f))).toBe(50);
    expect(sent.map((f) => header(f).captureMs)).toEqual(Array.from({ length: 50 }, (_, i) => i * 40));
    expect(sent.every((f) => header(f).flags === 0)).toBe(true);
    expect(q.dropped).toBe(0);
  });

  it('drops held audio only once the link has taken nothing for the held bound (truly behind), oldest first, with a clean cut', () => {
    const q = new SendQueue(300, 5000);
    for (let t = 0; t < 8000; t += 40) q.push(packet(t, true));
    const sent: Out[] = [];
    q.drain(8000, () => true, (f) => sent.push(f));
    expect(header(sent[0]!)).toEqual({ kind: 1, flags: AudioUpFlags.Discontinuity, captureMs: 3000 });
    expect(sent.length).toBe(125);
    expect(q.dropped).toBe(75);
  });

  it('still drops hands-free audio queued before a hold by the short bound', () => {
    const q = new SendQueue(300, 5000);
    q.push(packet(0));
    q.push(packet(1000, true));
    expect(q.length).toBe(1);
    expect(q.pendingDiscontinuity).toBe(true);
  });

  it("sends a hold's commit after the held audio queued before it, even when the socket takes them over several drains", () => {
    const q = new SendQueue(300, 5000);
    for (let t = 0; t < 200; t += 40) q.push(packet(t, true));
    q.pushText('{"type":"input_audio_buffer.commit"}');
    q.push(packet(1000, true)); // the next hold, pressed at once
    const sent: Out[] = [];
    let budget = 3;
    expect(q.drain(200, () => budget-- > 0, (f) => sent.push(f))).toBe(3);
    q.drain(1040, () => true, (f) => sent.push(f));
    expect(sent.map((f) => (typeof f === 'string' ? JSON.parse(f).type : header(f).captureMs))).toEqual([0, 40, 80, 120, 160, 'input_audio_buffer.commit', 1000]);
  });

  it('never drops a queued event, while stale audio around it goes', () => {
    const q = new SendQueue(300, 5000);
    q.push(packet(0));
    q.pushText('{"type":"input_audio_buffer.commit"}');
    const sent: Out[] = [];
    q.drain(10_000, () => true, (f) => sent.push(f));
    expect(sent).toEqual(['{"type":"input_audio_buffer.commit"}']);
    expect(q.dropped).toBe(1);
  });

  it('a fresh session clears the queue and the flag', () => {
    const q = new SendQueue(300);
    for (let t = 0; t < 1000; t += 40) q.push(packet(t));
    q.clear();
    expect(q.length).toBe(0);
    expect(q.pendingDiscontinuity).toBe(false);
  });
});
