// Codec-worker side of capture: 20 ms context-rate frames -> 24 kHz -> pcm16 LE -> base64 ->
// `input_audio_buffer.append`, with the barge-in guard deciding what the provider hears while the assistant speaks.
import { WIRE_SAMPLE_RATE } from '../../audio/constants.ts';
import { encodeBase64 } from '../../dsp/base64.ts';
import { toDbfs } from '../../dsp/levels.ts';
import { floatToPcm16 } from '../../dsp/pcm16.ts';
import { Resampler } from '../../dsp/resampler.ts';
import type { ClientEvent } from '../../../../protocol/realtime.ts';
import { DEFAULT_GUARD, guardStep, initialGuard, preRollFrames, type GuardConfig, type GuardState, type GuardVerdict } from './barge-in-guard.ts';

export interface CaptureContext {
  /** Whether frames should reach the provider now (connected, not muted, hands-free or talk held). */
  capturing: boolean;
  assistantAudible: boolean;
  /**
   * The frame may carry unremoved echo — a voice onset was just played (echo-onset.ts), or the capture's level follows
   * the playback's (echo-likeness.ts): the guard asks for more.
   */
  echoOnset: boolean;
  /** The frame is explained by the samples just played (echo-coherence.ts): it is echo, it never counts as loud. */
  echoCoherent: boolean;
}

export class CaptureSender {
  private readonly resampler: Resampler;
  private readonly guardConfig: GuardConfig;
  private guard: GuardState = initialGuard;
  /** Frames held back while the guard is closed, released when it opens (so a word's onset is not lost). */
  private readonly preRoll: string[] = [];
  sentFrames = 0;
  gatedFrames = 0;
  /** The guard's verdict on the last frame (null: it was not captured); for the bench's guard trace. */
  lastVerdict: GuardVerdict | null = null;

  constructor(contextRate: number, guardConfig: GuardConfig = DEFAULT_GUARD) {
    this.resampler = new Resampler(contextRate, WIRE_SAMPLE_RATE);
    this.guardConfig = guardConfig;
  }

  /** Returns the append events to send for this frame (zero, one, or pre-roll plus one). */
  onFrame(samples: Float32Array, rms: number, ctx: CaptureContext): ClientEvent[] {
    // Always run the resampler so its state stays continuous even while nothing is sent.
    const wire = this.resampler.process(samples);
    if (!ctx.capturing) {
      this.lastVerdict = null;
      this.guard = initialGuard;
      this.preRoll.length = 0;
      return [];
    }
    const audio = encodeBase64(floatToPcm16(wire));
    const step = guardStep(this.guard, toDbfs(rms), ctx.assistantAudible, this.guardConfig, ctx.echoOnset, ctx.echoCoherent);
    this.guard = step.state;
    this.lastVerdict = step.verdict;
    switch (step.verdict) {
      case 'pass':
        this.preRoll.length = 0;
        this.sentFrames++;
        return [{ type: 'input_audio_buffer.append', audio }];
      case 'mute':
        this.gatedFrames++;
        this.preRoll.push(audio);
        if (this.preRoll.length > preRollFrames(this.guardConfig)) this.preRoll.shift();
        return [];
      case 'open': {
        const held = this.preRoll.splice(0);
        this.sentFrames += held.length;
        this.gatedFrames -= held.length;
        this.sentFrames++;
        return [...held, audio].map((a) => ({ type: 'input_audio_buffer.append', audio: a }) satisfies ClientEvent);
      }
    }
  }
}
