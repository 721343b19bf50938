// The uplink's own silence gate and stamps, with real libopus (WASM) configured as the WebCodecs encoder is: no DTX,
// so every block comes back as a full packet and only the uplink can keep silence off the link.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_GUARD } from './barge-in-guard.ts';
import { wasmOpusFactory, type OpusFactory } from './opus/opus-codec.ts';
import { WasmOpusModule } from './opus/wasm-opus.ts';
import { OpusUplink, SILENCE_HANGOVER_BLOCKS } from './opus-uplink.ts';
import type { UpPacket } from './link/send-queue.ts';

const require = createRequire(import.meta.url);
let noDtx: OpusFactory;
beforeAll(async () => {
  noDtx = wasmOpusFactory(await WasmOpusModule.load(readFileSync(require.resolve('@evan/opus/wasm/opus.wasm'))), { dtx: false });
});

function rig() {
  const sent: UpPacket[] = [];
  const uplink = new OpusUplink(48_000, noDtx, (p) => sent.push(p), DEFAULT_GUARD);
  let index = 0;
  /** `frames` 20 ms capture frames of a 300 Hz tone at `amplitude` (0: digital silence). */
  const feed = (frames: number, amplitude: number, assistantAudible = false, held = false) => {
    for (let i = 0; i < frames; i++) {
      const f = new Float32Array(960);
      for (let k = 0; k < 960; k++) f[k] = amplitude * Math.sin(((index * 960 + k) * 2 * Math.PI * 300) / 48_000);
      uplink.onFrame(f, amplitude / Math.SQRT2, index++, { capturing: true, assistantAudible, echoOnset: false, echoCoherent: false, held });
    }
  };
  return { uplink, sent, feed };
}

describe('OpusUplink', () => {
  it('sends speech and a 200 ms hangover, then nothing for silence even from an encoder without DTX', () => {
    const { uplink, sent, feed } = rig();
    feed(50, 0.3); // 1 s of tone: 25 blocks
    feed(100, 0); // 2 s of digital silence: 50 blocks
    feed(10, 0.3); // speech again: 5 blocks
    expect(uplink.blocksIn).toBe(80);
    expect(uplink.packetsFromEncoder).toBe(80);
    expect(sent.map((p) => p.captureMs)).toEqual([
      ...Array.from({ length: 25 + SILENCE_HANGOVER_BLOCKS }, (_, i) => i * 40),
      ...Array.from({ length: 5 }, (_, i) => 3000 + i * 40),
    ]);
    expect(uplink.dtxSkipped).toBe(50 - SILENCE_HANGOVER_BLOCKS);
    expect(uplink.unmatched).toBe(0);
  });

  it('treats a quiet room (−70 dBFS) as silence and a soft voice (−45 dBFS) as sound', () => {
    const { sent, feed } = rig();
    feed(50, 10 ** (-70 / 20) * Math.SQRT2);
    expect(sent.length).toBe(SILENCE_HANGOVER_BLOCKS);
    feed(50, 10 ** (-45 / 20) * Math.SQRT2);
    expect(sent.length).toBe(SILENCE_HANGOVER_BLOCKS + 25);
  });

  it('sends every held block in hold-to-talk, quiet ones too: the turn is exactly what was held', () => {
    const { uplink, sent, feed } = rig();
    feed(25, 0.3, false, true); // 0.5 s of voice while held: 12 blocks and half of the 13th
    feed(75, 0, false, true); // 1.5 s of digital silence, still held
    expect(sent.map((p) => p.captureMs)).toEqual(Array.from({ length: 50 }, (_, i) => i * 40));
    expect(sent.every((p) => p.held)).toBe(true);
    expect(uplink.dtxSkipped).toBe(0);
  });

  it('sends a held DTX packet from an encoder with DTX (the relay decodes it as 40 ms of silence)', async () => {
    const dtx = wasmOpusFactory(await WasmOpusModule.load(readFileSync(require.resolve('@evan/opus/wasm/opus.wasm'))), { dtx: true });
    const sent: UpPacket[] = [];
    const uplink = new OpusUplink(48_000, dtx, (p) => sent.push(p), DEFAULT_GUARD);
    for (let i = 0; i < 100; i++) uplink.onFrame(new Float32Array(960), 0, i, { capturing: true, assistantAudible: false, echoOnset: false, echoCoherent: false, held: true });
    expect(sent.length).toBe(50);
    expect(sent.some((p) => p.opus.byteLength <= 2)).toBe(true);
  });

  it('gates silence again as soon as the hold ends (the hangover follows sound, not a hold)', () => {
    const { uplink, sent, feed } = rig();
    feed(50, 0, false, true); // 1 s of held silence: all 25 blocks go
    feed(50, 0); // not held, still capturing (hands-free): nothing
    expect(sent.length).toBe(25);
    expect(uplink.dtxSkipped).toBe(25);
  });

  it('does not let the barge-in guard hold back held audio', () => {
    const { sent, feed } = rig();
    feed(10, 0.01, true, true); // soft voice (−43 dBFS) over "assistant audio": the guard would mute it
    expect(sent.length).toBe(5);
  });
});
