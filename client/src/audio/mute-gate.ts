// What the capture worklet does with each 20 ms frame around a mute (pure; runs on the audio thread).
// Muting mid-sentence must still end the person's turn: the provider's VAD waits for silence before it closes a
// turn, and a mic that just goes quiet on the wire (no frames) never gives it that silence, so "Hearing you…"
// would stay up through the reply. So a mute first sends a short tail of digital silence — longer than the
// VAD's silence window — and only then stops sending. Unmuting sends the real mic again at once.
import { FRAME_MS } from './constants.ts';

/** Silence sent after a mute: the VAD's 500 ms window plus margin for its prefix/hangover. */
export const MUTE_SILENCE_TAIL_MS = 800;

export type MuteVerdict = 'send' | 'silence' | 'drop';

export class MuteGate {
  private muted = false;
  private tailFrames = 0;

  setMuted(muted: boolean): void {
    if (muted && !this.muted) this.tailFrames = Math.ceil(MUTE_SILENCE_TAIL_MS / FRAME_MS);
    if (!muted) this.tailFrames = 0;
    this.muted = muted;
  }

  get isMuted(): boolean {
    return this.muted;
  }

  /** For the next frame: send it as captured, send zeros in its place, or send nothing. */
  next(): MuteVerdict {
    if (!this.muted) return 'send';
    if (this.tailFrames > 0) {
      this.tailFrames--;
      return 'silence';
    }
    return 'drop';
  }
}
