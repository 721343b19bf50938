import { describe, expect, it } from 'vitest';
import { ReplayBuffer } from './replay-buffer.ts';

describe('ReplayBuffer', () => {
  it('numbers messages from 1 and replays exactly those after the count the client presents', () => {
    const b = new ReplayBuffer(1 << 20);
    for (const m of ['a', 'b', 'c', 'd']) b.push(m);
    expect(b.after(2)?.map((e) => [e.seq, e.frame])).toEqual([
      [3, 'c'],
      [4, 'd'],
    ]);
    expect(b.after(4)).toEqual([]);
  });

  it('forgets acknowledged messages and counts bytes of text and binary frames', () => {
    const b = new ReplayBuffer(1 << 20);
    b.push('xx');
    b.push(new Uint8Array(5));
    b.push('yyy');
    expect(b.bytes).toBe(10);
    b.ack(2);
    expect(b.bytes).toBe(3);
    expect(b.after(2)?.map((e) => e.seq)).toEqual([3]);
  });

  it('refuses a replay that would need a message dropped for room, or a count beyond what was sent', () => {
    const b = new ReplayBuffer(4);
    b.push('aa');
    b.push('bb');
    b.push('cc'); // drops 1
    expect(b.after(0)).toBeNull();
    expect(b.after(1)?.map((e) => e.frame)).toEqual(['bb', 'cc']);
    expect(b.overflowedSince(0)).toBe(true);
    expect(b.after(4)).toBeNull();
    expect(b.after(-1)).toBeNull();
    expect(b.after(1.5)).toBeNull();
  });
});
