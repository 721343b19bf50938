// Capture on the earshot.v2 link: 20 ms context-rate frames -> 24 kHz -> 40 ms blocks -> Opus -> the
// time-bounded send queue. Every block is encoded, so the encoder's state stays continuous; what is *sent* is
// decided per packet: silence never goes out — the relay fills the gap toward the provider from the capture
// timestamps — and while the assistant speaks the barge-in guard holds packets back unless the person is clearly
// talking over it (then the held pre-roll goes out first, so the word's onset is not lost).
// Silence is judged here, the same way for both engines: a block below SILENCE_DBFS after SILENCE_HANGOVER_BLOCKS
// quiet blocks (the WebCodecs encoder runs without DTX: with it Chromium mis-stamps its packets, opus-codec.ts);
// a libopus DTX packet (≤ 2 bytes) from the WASM engine counts as silence too. Each packet's metadata is found by
// its capture stamp, which both engines give exactly.
// The gate is for hands-free only. While the person holds to talk the provider's VAD is off and the turn is exactly
// what was held, so every held block goes out, quiet or not (a DTX packet too: the relay decodes it as the silence
// it is); the packets are marked `held` so the send queue keeps them until the commit (send-queue.ts).
import { APP_AUDIO_SAMPLE_RATE, APP_UP_FRAME_MS } from '../../../../protocol/app-link.ts';
import { FRAME_MS } from '../../audio/constants.ts';
import { toDbfs } from '../../dsp/levels.ts';
import { Resampler } from '../../dsp/resampler.ts';
import { DEFAULT_GUARD, guardStep, initialGuard, preRollFrames, type GuardConfig, type GuardState, type GuardVerdict } from './barge-in-guard.ts';
import type { CaptureContext } from './capture-sender.ts';
import { DTX_PACKET_MAX_BYTES, type OpusEncoderLike, type OpusFactory } from './opus/opus-codec.ts';
import type { UpPacket } from './link/send-queue.ts';

const BLOCK_SAMPLES = (APP_AUDIO_SAMPLE_RATE * APP_UP_FRAME_MS) / 1000;
const FRAMES_PER_BLOCK = APP_UP_FRAME_MS / FRAME_MS;
/**
 * A block whose loudest frame is below this is silence. Far below speech (−40…−10 dBFS) and below a quiet room
 * after the browser's noise suppression; a noisier room is simply sent (it costs bytes, never words).
 */
export const SILENCE_DBFS = -60;
/** Quiet blocks still sent after sound (200 ms): the soft end of a word, and the provider hears real room tone first. */
export const SILENCE_HANGOVER_BLOCKS = 5;

interface BlockMeta {
  verdict: GuardVerdict;
  silent: boolean;
  held: boolean;
}

export interface UplinkContext extends CaptureContext {
  /** Hold-to-talk and the person is holding: this block is part of the turn they are making, silence included. */
  held: boolean;
}

export class OpusUplink {
  private readonly resampler: Resampler;
  private readonly encoder: OpusEncoderLike;
  private readonly guardConfig: GuardConfig;
  private readonly out: (packet: UpPacket) => void;
  private guard: GuardState = initialGuard;
  private readonly block = new Float32Array(BLOCK_SAMPLES);
  private filled = 0;
  private blockStartMs = 0;
  private blockVerdict: GuardVerdict = 'mute';
  private blockPeakDb = -120;
  /** Whether any frame of the block being filled was held (a block that straddles the press belongs to the turn). */
  private blockHeld = false;
  /** Whether the last block handed to the encoder was held, and how many flushes are under way (endHold). */
  private lastBlockHeld = false;
  private flushing = 0;
  /** Consecutive blocks below SILENCE_DBFS. */
  private quietRun = 0;
  /** What was decided about each block handed to the encoder, by capture time (WebCodecs answers asynchronously). */
  private readonly blocks = new Map<number, BlockMeta>();
  /** Packets held while the guard is closed; released when it opens. */
  private readonly preRoll: UpPacket[] = [];
  private readonly preRollMax: number;
  /** Blocks handed to the encoder, packets it gave back (WebCodecs may itself drop DTX packets), packets sent. */
  blocksIn = 0;
  packetsFromEncoder = 0;
  packetsOut = 0;
  dtxSkipped = 0;
  /** Packets whose timestamp matched no block handed in (an encoder that re-stamps its output). */
  unmatched = 0;
  gated = 0;
  encodeErrors = 0;
  /** The guard's verdict on the last frame (null: it was not captured); for the bench's guard trace. */
  lastVerdict: GuardVerdict | null = null;

  constructor(contextRate: number, opus: OpusFactory, out: (packet: UpPacket) => void, guardConfig: GuardConfig = DEFAULT_GUARD) {
    this.resampler = new Resampler(contextRate, APP_AUDIO_SAMPLE_RATE);
    this.guardConfig = guardConfig;
    this.preRollMax = Math.ceil(preRollFrames(guardConfig) / FRAMES_PER_BLOCK);
    this.out = out;
    this.encoder = opus.createEncoder({
      onPacket: (packet, captureMs) => this.onPacket(packet, captureMs),
      onError: (err) => {
        this.encodeErrors++;
        console.error('[session] opus encode', err);
      },
    });
  }

  get engine(): OpusFactory['engine'] {
    return this.encoder.engine;
  }

  /** One capture frame; `index` is its number on the capture clock (captureMs = index * FRAME_MS). */
  onFrame(samples: Float32Array, rms: number, index: number, ctx: UplinkContext): void {
    // Always resample so the filter's state stays continuous even while nothing is sent.
    const wire = this.resampler.process(samples);
    if (!ctx.capturing) {
      this.lastVerdict = null;
      this.guard = initialGuard;
      this.preRoll.length = 0;
      this.filled = 0;
      this.quietRun = 0;
      return;
    }
    if (this.filled === 0) {
      this.blockStartMs = index * FRAME_MS;
      this.blockVerdict = 'mute';
      this.blockPeakDb = -120;
      this.blockHeld = false;
    }
    this.blockHeld ||= ctx.held;
    const db = toDbfs(rms);
    this.blockPeakDb = Math.max(this.blockPeakDb, db);
    const step = guardStep(this.guard, db, ctx.assistantAudible, this.guardConfig, ctx.echoOnset, ctx.echoCoherent);
    this.guard = step.state;
    this.lastVerdict = step.verdict;
    // A block opens if any of its frames opened the gate, passes if any passed.
    if (step.verdict === 'open' || (step.verdict === 'pass' && this.blockVerdict === 'mute')) this.blockVerdict = step.verdict;
    const n = Math.min(wire.length, BLOCK_SAMPLES - this.filled);
    this.block.set(wire.subarray(0, n), this.filled);
    this.filled += n;
    if (this.filled < BLOCK_SAMPLES) return;
    this.encodeBlock();
  }

  /**
   * The person let go of hold-to-talk: the partly filled last block goes out zero-padded (the turn's audio reaches
   * the release instead of stopping up to a block short), and the promise resolves once the encoder has delivered
   * every packet of the hold — what the commit must follow (session-runner.ts `releaseHold`).
   */
  endHold(): Promise<void> {
    if (this.filled > 0 && this.blockHeld) {
      this.block.fill(0, this.filled);
      this.encodeBlock();
    }
    this.filled = 0;
    this.flushing++;
    return this.encoder.flush().finally(() => this.flushing--);
  }

  close(): void {
    this.encoder.close();
  }

  private encodeBlock(): void {
    this.filled = 0;
    this.quietRun = this.blockPeakDb < SILENCE_DBFS ? this.quietRun + 1 : 0;
    this.blocks.set(this.blockStartMs, { verdict: this.blockVerdict, silent: this.quietRun > SILENCE_HANGOVER_BLOCKS, held: this.blockHeld });
    if (this.blocks.size > 64) this.blocks.delete(this.blocks.keys().next().value!);
    this.lastBlockHeld = this.blockHeld;
    this.blocksIn++;
    this.encoder.encode(this.block.slice(), this.blockStartMs);
  }

  private onPacket(opus: Uint8Array, captureMs: number): void {
    this.packetsFromEncoder++;
    const meta = this.blocks.get(captureMs);
    // A flush yields the encoder's look-ahead tail (WebCodecs: one packet stamped after the last block): the end of
    // the last block's audio, not a mis-stamp, so it goes with that block.
    const tail = !meta && this.flushing > 0;
    if (!meta && !tail) this.unmatched++;
    this.blocks.delete(captureMs);
    const held = meta?.held === true || (tail && this.lastBlockHeld);
    const packet: UpPacket = { captureMs, durationMs: APP_UP_FRAME_MS, opus, held };
    // Silence is skipped only in hands-free: a held turn keeps its quiet parts.
    const dtx = !held && (opus.byteLength <= DTX_PACKET_MAX_BYTES || meta?.silent === true);
    // A held block passes the barge-in guard too: pressing to talk already cut the assistant (Conversation.bargeIn),
    // and with the provider's VAD off there is no echo-triggered turn to guard against.
    switch (held ? 'pass' : (meta?.verdict ?? 'pass')) {
      case 'pass':
        this.preRoll.length = 0;
        if (dtx) this.dtxSkipped++;
        else this.emit(packet);
        break;
      case 'mute':
        this.gated++;
        if (!dtx) this.preRoll.push(packet);
        if (this.preRoll.length > this.preRollMax) this.preRoll.shift();
        break;
      case 'open':
        for (const back of this.preRoll.splice(0)) this.emit(back);
        if (!dtx) this.emit(packet);
        break;
    }
  }

  private emit(packet: UpPacket): void {
    this.packetsOut++;
    this.out(packet);
  }
}
