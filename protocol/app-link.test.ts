import { describe, expect, it } from 'vitest';
import { AppFrameKind, decodeAppFrame, encodeAudioDown, encodeAudioUp } from './app-link.ts';

describe('app link binary frames', () => {
  it('lays out an AudioUp header as documented (little-endian captureMs at byte 4)', () => {
    const frame = encodeAudioUp({ flags: 1, captureMs: 0x01020304 }, Uint8Array.of(0xaa, 0xbb));
    expect([...frame]).toEqual([1, 1, 0, 0, 0x04, 0x03, 0x02, 0x01, 0xaa, 0xbb]);
  });

  it('lays out an AudioDown header as documented', () => {
    const frame = encodeAudioDown({ flags: 1, streamRef: 0x0203, sampleOffset: 480, samples: 1440 }, Uint8Array.of(7));
    expect([...frame]).toEqual([2, 1, 0x03, 0x02, 0xe0, 0x01, 0, 0, 0xa0, 0x05, 7]);
  });

  it('reads back what a peer wrote, from a view with an offset', () => {
    const raw = Uint8Array.of(9, 9, 1, 0, 0, 0, 40, 0, 0, 0, 5, 6);
    const decoded = decodeAppFrame(raw.subarray(2));
    expect(decoded).toMatchObject({ ok: true, header: { kind: AppFrameKind.AudioUp, flags: 0, captureMs: 40 } });
    if (decoded.ok) expect([...decoded.payload]).toEqual([5, 6]);
  });

  it('refuses short, empty and unknown frames with a reason', () => {
    expect(decodeAppFrame(new Uint8Array(0))).toEqual({ ok: false, reason: 'too_short' });
    expect(decodeAppFrame(Uint8Array.of(1, 0, 0))).toEqual({ ok: false, reason: 'too_short' });
    expect(decodeAppFrame(Uint8Array.of(1, 0, 0, 0, 0, 0, 0, 0))).toEqual({ ok: false, reason: 'empty_payload' });
    expect(decodeAppFrame(Uint8Array.of(2, 0, 0, 0, 0, 0, 0, 0, 0, 0))).toEqual({ ok: false, reason: 'empty_payload' });
    expect(decodeAppFrame(Uint8Array.of(3, 0))).toEqual({ ok: false, reason: 'unknown_kind' });
  });
});
