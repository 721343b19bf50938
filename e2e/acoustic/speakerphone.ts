// A speakerphone on a table, in software, on the tests' private PulseAudio (e2e/engines/pulse.ts): what the browser
// plays on the `speaker` sink comes back into the `mic` sink — the one the user's speech is played into and whose
// monitor the browser captures from (`mic_in`) — through `module-loopback`, with a chosen delay (its target
// latency) and gain (the volume of its sink input). So the microphone hears the user and the assistant's echo, and
// Chromium's echo canceller, noise suppressor and gain control run on that as on a laptop. Or, with a room
// (`EchoPath.room`), through a reverberant one: parec | sox reverb | pacat instead of module-loopback (or `pipe`: the
// same parec | sox | pacat with no effect, the control that tells the room from the pipe's buffering). The path can
// change mid-reply (path-change.ts): a new route is made before the old one goes.
//
// Tapes: parecord of a monitor (speaker.monitor: what was played; mic.monitor: what the microphone heard), kept as
// 10 ms power blocks on the wall clock (echo-metrics.ts), so they line up with the relay's upstream appends.
import type { PrivatePulse } from '../engines/pulse.ts';
import { startOwned } from '../engines/processes.ts';
import type { Tape } from './echo-metrics.ts';

export interface EchoPath {
  /** Speaker-to-mic gain in dB (0: the echo reaches the mic at the level it was played, i.e. as loud as the user). */
  gainDb: number;
  /** module-loopback's target latency, ms (the real delay is measured: estimateLagMs on the tapes). */
  delayMs: number;
  /**
   * The room between speaker and microphone: none (a dry path, module-loopback) or `reverb` — `parec` of the
   * speaker's monitor through `sox … reverb` (a living room's tail) into `pacat` on the mic sink (roomPipeline) —
   * or `pipe`: that same pipeline with no effect (the control: its jittering delay without the room).
   */
  room?: Room;
}

export type Room = 'none' | 'pipe' | 'reverb';
export const ROOMS: readonly Room[] = ['none', 'pipe', 'reverb'];

export interface Speakerphone {
  /**
   * Routes the speaker into the microphone with this gain, delay and room (replacing the route there was). A new
   * delay or room is a new route, made before the old one is taken away (an echo path changing mid-reply, as a
   * phone picked up, not a silent gap); a gain alone is the route's volume.
   */
  set(path: EchoPath): Promise<void>;
  /** Takes the route away: the microphone hears only the user. */
  off(): Promise<void>;
}

/** One speaker→mic route on the server: its sink input on `mic` (whose volume is the gain) and how to end it. */
interface Route {
  delayMs: number;
  room: Room;
  sinkInput: string;
  end(): Promise<void>;
}

const SOX_RAW = ['-t', 'raw', '-r', '48000', '-e', 'signed-integer', '-b', '16', '-c', '1'];

/**
 * The reverberant route's shell pipeline: the speaker's monitor, 10 ms blocks, through sox's reverb (dry plus a
 * ~0.5 s tail; reverberance 60 %, HF damping 50 %, room scale 80 %), into the mic sink with `delayMs` of buffer.
 * sox's buffer is 512 samples (~11 ms) so it adds little delay; the real delay is measured on the tapes anyway.
 * `stream` names the pacat stream, so its sink input can be found (its volume is the route's gain). `pipe`: the same
 * three stages and buffers with no effect, so a difference between the two is the reverberation's, not the pipe's.
 */
export function roomPipeline(delayMs: number, stream: string, room: Exclude<Room, 'none'> = 'reverb'): string {
  const raw = '--raw --format=s16le --rate=48000 --channels=1';
  return [
    `parec --device=speaker.monitor ${raw} --latency-msec=10`,
    `sox -q --buffer 1024 ${SOX_RAW.join(' ')} - ${SOX_RAW.join(' ')} -${room === 'reverb' ? ' reverb 60 50 80' : ''}`,
    `pacat --playback --device=mic ${raw} --latency-msec=${delayMs} --stream-name=${stream}`,
  ].join(' | ');
}

export function makeSpeakerphone(pulse: PrivatePulse): Speakerphone {
  let route: Route | null = null;
  let rooms = 0;
  const open = async (path: EchoPath): Promise<Route> => {
    const room = path.room ?? 'none';
    if (room === 'none') {
      const module = (await pulse.pactl('load-module', 'module-loopback', 'source=speaker.monitor', 'sink=mic', `latency_msec=${path.delayMs}`, 'source_dont_move=true', 'sink_dont_move=true', 'remix=true')).trim();
      const sinkInput = await findSinkInput(pulse, new RegExp(`Owner Module: ${module}\\b`), () => `module-loopback ${module}`);
      return { delayMs: path.delayMs, room, sinkInput, end: async () => void (await pulse.pactl('unload-module', module)) };
    }
    const stream = `earshot-room-${++rooms}`;
    const pipeline = startOwned('sh', ['-c', roomPipeline(path.delayMs, stream, room)], { env: { ...process.env, ...pulse.env, HOME: pulse.env.PULSE_RUNTIME_PATH } });
    const sinkInput = await findSinkInput(pulse, new RegExp(`media\\.name = "${stream}"`), () => `the room pipeline (${pipeline.stderr() || 'no output'})`);
    return { delayMs: path.delayMs, room, sinkInput, end: () => pipeline.stop() };
  };
  const off = async () => {
    await route?.end();
    route = null;
  };
  return {
    async set(path) {
      let next = route;
      if (!next || next.delayMs !== path.delayMs || next.room !== (path.room ?? 'none')) next = await open(path);
      // As a linear amplitude factor (pactl's "-6dB" reads as an option, and it refuses fractional dB). Set before
      // the old route goes, so the new one is never heard at its default 100 %.
      await pulse.pactl('set-sink-input-volume', next.sinkInput, (10 ** (path.gainDb / 20)).toFixed(4));
      if (route && route !== next) await route.end();
      route = next;
    },
    off,
  };
}

/** The sink input (on the mic sink) whose `pactl list sink-inputs` block matches `owner`. */
async function findSinkInput(pulse: PrivatePulse, owner: RegExp, what: () => string): Promise<string> {
  for (let tries = 0; tries < 50; tries++) {
    const listing = await pulse.pactl('list', 'sink-inputs');
    for (const block of listing.split(/^Sink Input #/m).slice(1)) {
      const id = block.match(/^(\d+)/)?.[1];
      if (id && owner.test(block)) return id;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what()} has no sink input`);
}

export interface TapeRecorder {
  /** What was recorded so far. */
  tape(): Tape;
  stop(): Promise<void>;
}

const RATE = 48_000;
const BLOCK_MS = 10;
const BLOCK = (RATE * BLOCK_MS) / 1000;

/** Records `device` (a monitor source) into 10 ms power blocks, timed by the sample clock from the first chunk. */
export function recordTape(pulse: PrivatePulse, device: string): TapeRecorder {
  const recorder = startOwned('parecord', [`--device=${device}`, '--raw', '--format=s16le', `--rate=${RATE}`, '--channels=1', '--latency-msec=20'], {
    env: { ...process.env, ...pulse.env, HOME: pulse.env.PULSE_RUNTIME_PATH },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let startMs: number | null = null;
  const power: number[] = [];
  let sum = 0;
  let n = 0;
  let odd: Buffer | null = null;
  recorder.child.stdout!.on('data', (data: Buffer) => {
    const chunk = odd ? Buffer.concat([odd, data]) : data;
    const whole = chunk.length & ~1;
    odd = whole < chunk.length ? chunk.subarray(whole) : null;
    // The first chunk ends now: the tape began its length earlier. After that the sample count is the clock,
    // except where parecord lost audio (an overrun on a loaded machine): a chunk that ends well after the sample
    // clock says gets unknown blocks (NaN) before it, so later blocks keep their place on the wall clock.
    const arrived = Date.now();
    startMs ??= arrived - (whole / 2 / RATE) * 1000;
    const behindMs = arrived - (startMs + ((power.length * BLOCK + n + whole / 2) / RATE) * 1000);
    for (let missing = Math.floor(behindMs / BLOCK_MS) - 3; missing > 0; missing--) power.push(NaN);
    for (let i = 0; i < whole; i += 2) {
      const s = chunk.readInt16LE(i);
      sum += s * s;
      if (++n === BLOCK) {
        power.push(sum / BLOCK);
        sum = 0;
        n = 0;
      }
    }
  });
  return {
    tape: () => ({ startMs: startMs ?? Date.now(), blockMs: BLOCK_MS, power }),
    stop: () => recorder.stop(),
  };
}
