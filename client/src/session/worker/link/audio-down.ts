// Downstream audio bookkeeping on the earshot.v2 link: which assistant item each AudioDown stream ref belongs to
// (announced by `earshot.audio.stream`), and where each packet sits in its item's audio, so that after a resume
// nothing is played twice (a packet before the expected offset is a duplicate: dropped) and nothing is silently
// skipped (a packet past it means audio was lost: the gap is filled with silence so played time stays true for
// truncation). Pure.
import type { AudioDownHeader, LinkAudioStream } from '../../../../../protocol/app-link.ts';
import { AudioDownFlags } from '../../../../../protocol/app-link.ts';

/** A gap longer than this is not filled with silence (it would only delay the rest); the audio just goes on. */
export const MAX_GAP_FILL_SAMPLES = 24_000;

export type DownVerdict =
  | { kind: 'play'; itemId: string; samples: number; gapSamples: number; end: boolean }
  | { kind: 'drop'; reason: 'unknown_stream' | 'duplicate' | 'ended' };

interface Stream {
  itemId: string;
  /** Samples of the item accounted for so far (played, or filled as a gap). */
  next: number;
  ended: boolean;
}

export class DownStreams {
  private readonly streams = new Map<number, Stream>();

  announce(event: Pick<LinkAudioStream, 'ref' | 'item_id'>): void {
    const known = this.streams.get(event.ref);
    // Re-announced after a resume: keep the position.
    if (known && known.itemId === event.item_id) return;
    this.streams.set(event.ref, { itemId: event.item_id, next: 0, ended: false });
  }

  accept(header: Pick<AudioDownHeader, 'streamRef' | 'sampleOffset' | 'samples' | 'flags'>): DownVerdict {
    const stream = this.streams.get(header.streamRef);
    if (!stream) return { kind: 'drop', reason: 'unknown_stream' };
    if (stream.ended) return { kind: 'drop', reason: 'ended' };
    if (header.sampleOffset < stream.next) return { kind: 'drop', reason: 'duplicate' };
    const gap = header.sampleOffset - stream.next;
    const gapSamples = gap <= MAX_GAP_FILL_SAMPLES ? gap : 0;
    stream.next = header.sampleOffset + header.samples;
    const end = (header.flags & AudioDownFlags.EndOfStream) !== 0;
    if (end) stream.ended = true;
    return { kind: 'play', itemId: stream.itemId, samples: header.samples, gapSamples, end };
  }

  /** A fresh provider session: refs start over. */
  reset(): void {
    this.streams.clear();
  }
}

/** Trim decoded audio to the packet's valid samples (the last packet of an item may be padded). */
export function trimDecoded(pcm: Float32Array, samples: number, gapSamples: number): Float32Array {
  const valid = pcm.length > samples ? pcm.subarray(0, samples) : pcm;
  if (gapSamples === 0) return valid;
  const out = new Float32Array(gapSamples + valid.length);
  out.set(valid, gapSamples);
  return out;
}
