import { describe, expect, it } from 'vitest';
import { AudioDownFlags } from '../../../../../protocol/app-link.ts';
import { DownStreams, MAX_GAP_FILL_SAMPLES, trimDecoded } from './audio-down.ts';
import { OrderedInbox } from './ordered-inbox.ts';

const h = (sampleOffset: number, samples = 1440, flags = 0, streamRef = 7) => ({ streamRef, sampleOffset, samples, flags });

describe('DownStreams (AudioDown handling)', () => {
  it('maps a stream ref to the announced item and plays packets in sequence', () => {
    const s = new DownStreams();
    s.announce({ ref: 7, item_id: 'item_a' });
    expect(s.accept(h(0))).toEqual({ kind: 'play', itemId: 'item_a', samples: 1440, gapSamples: 0, end: false });
    expect(s.accept(h(1440))).toMatchObject({ kind: 'play', gapSamples: 0 });
  });

  it('drops a packet of an unannounced stream', () => {
    expect(new DownStreams().accept(h(0))).toEqual({ kind: 'drop', reason: 'unknown_stream' });
  });

  it('never plays a packet twice (a replay after resume overlapping what was heard)', () => {
    const s = new DownStreams();
    s.announce({ ref: 7, item_id: 'a' });
    s.accept(h(0));
    s.accept(h(1440));
    s.announce({ ref: 7, item_id: 'a' }); // re-announced on the resumed link: position kept
    expect(s.accept(h(1440))).toEqual({ kind: 'drop', reason: 'duplicate' });
    expect(s.accept(h(2880))).toMatchObject({ kind: 'play' });
  });

  it('fills a gap with silence so played time stays true, but not an absurdly long one', () => {
    const s = new DownStreams();
    s.announce({ ref: 7, item_id: 'a' });
    s.accept(h(0));
    expect(s.accept(h(2880))).toMatchObject({ kind: 'play', gapSamples: 1440 });
    expect(s.accept(h(2880 + 1440 + MAX_GAP_FILL_SAMPLES + 1))).toMatchObject({ kind: 'play', gapSamples: 0 });
  });

  it('ends the stream on END_OF_STREAM and ignores anything after', () => {
    const s = new DownStreams();
    s.announce({ ref: 7, item_id: 'a' });
    expect(s.accept(h(0, 500, AudioDownFlags.EndOfStream))).toMatchObject({ kind: 'play', samples: 500, end: true });
    expect(s.accept(h(500))).toEqual({ kind: 'drop', reason: 'ended' });
  });

  it('trims a padded last packet and puts the gap silence first', () => {
    const pcm = Float32Array.from({ length: 6 }, (_, i) => i + 1);
    expect([...trimDecoded(pcm, 4, 0)]).toEqual([1, 2, 3, 4]);
    expect([...trimDecoded(pcm, 2, 3)]).toEqual([0, 0, 0, 1, 2]);
  });
});

describe('OrderedInbox', () => {
  it('delivers JSON events behind audio that is still being decoded, in arrival order', () => {
    const out: string[] = [];
    const inbox = new OrderedInbox<string>((v) => out.push(v));
    inbox.push('delta-transcript');
    inbox.reserve();
    inbox.reserve();
    inbox.push('output_audio.done');
    expect(out).toEqual(['delta-transcript']);
    inbox.fill('pcm1');
    expect(out).toEqual(['delta-transcript', 'pcm1']);
    inbox.fill('pcm2');
    expect(out).toEqual(['delta-transcript', 'pcm1', 'pcm2', 'output_audio.done']);
  });
});
