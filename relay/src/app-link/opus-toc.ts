// The duration of an Opus packet from its TOC byte (RFC 6716 §3.1), read on the event loop without decoding:
// the audio rate limit counts milliseconds, and a packet that is not Opus is refused before it costs a job.

/** Frame length in ms for each of the 32 TOC configurations (SILK, hybrid, CELT). */
const FRAME_MS = [10, 20, 40, 60, 10, 20, 40, 60, 10, 20, 40, 60, 10, 20, 10, 20, 2.5, 5, 10, 20, 2.5, 5, 10, 20, 2.5, 5, 10, 20, 2.5, 5, 10, 20];

/** Milliseconds of audio in `packet`, or null if it is not a well-formed Opus packet header (or > 120 ms). */
export function opusPacketMs(packet: Uint8Array): number | null {
  const toc = packet[0];
  if (toc === undefined) return null;
  const frameMs = FRAME_MS[toc >> 3]!;
  const code = toc & 3;
  let frames: number;
  if (code === 0) frames = 1;
  else if (code === 1 || code === 2) frames = 2;
  else {
    const count = packet[1];
    if (count === undefined) return null;
    frames = count & 0x3f;
    if (frames === 0) return null;
  }
  const ms = frames * frameMs;
  return ms > 120 ? null : ms;
}
