// Client-side audio numbers shared by the worklets, the session worker and the main-thread graph.
// Wire numbers (24 kHz, 20 ms frames) live in protocol/constants.ts.
export { FRAME_MS, WIRE_SAMPLE_RATE } from '../../../protocol/constants.ts';

/**
 * Playback starts once the jitter target is queued (absorbs network jitter), or at once when the item ended. The
 * target adapts (jitter-target.ts): it starts here and stays within MIN..MAX.
 */
export const JITTER_INITIAL_MS = 80;
export const JITTER_MIN_MS = 60;
export const JITTER_MAX_MS = 400;
/** Playback ring capacity. The session worker keeps the rest and feeds the ring up to PLAYBACK_HIGH_WATER_MS. */
export const PLAYBACK_RING_SECONDS = 4;
export const PLAYBACK_HIGH_WATER_MS = 1500;
/** Fade length on underrun, flush and restart: ~0.7 ms at 48 kHz, short enough to be inaudible, long enough to avoid a click. */
export const FADE_SAMPLES = 32;
/** How often the playback worklet reports progress and output level. */
export const PLAYBACK_REPORT_MS = 20;
/** Min/max pairs per 20 ms frame sent to the waveform worker. */
export const WAVE_POINTS_PER_FRAME = 8;
/** UI level events from the session worker to the main thread. */
export const LEVEL_EVENT_HZ = 15;
/** Drop capture frames rather than queue them when the socket has this much unsent data (a stalled network). */
export const MAX_SOCKET_BUFFERED_BYTES = 256 * 1024;
