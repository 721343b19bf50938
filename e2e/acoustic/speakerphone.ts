// A speakerphone on a table, in software, on the tests' private PulseAudio (e2e/engines/pulse.ts): what the browser
// plays on the `speaker` sink comes back into the `mic` sink — the one the user's speech is played into and whose
// monitor the browser captures from (`mic_in`) — through `module-loopback`, with a chosen delay (its target
// latency) and gain (the volume of its sink input). So the microphone hears the user and the assistant's echo, and
// Chromium's echo canceller, noise suppressor and gain control run on that as on a laptop.
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
}

export interface Speakerphone {
  /** Routes the speaker into the microphone with this gain and delay (replacing the route there was). */
  set(path: EchoPath): Promise<void>;
  /** Takes the route away: the microphone hears only the user. */
  off(): Promise<void>;
}

export function makeSpeakerphone(pulse: PrivatePulse): Speakerphone {
  let module: string | null = null;
  let delayMs: number | null = null;
  const off = async () => {
    if (module !== null) await pulse.pactl('unload-module', module);
    module = null;
    delayMs = null;
  };
  return {
    async set(path) {
      // The delay is the module's buffer: a new delay is a new module. A gain alone is the sink input's volume.
      if (delayMs !== path.delayMs) {
        await off();
        module = (await pulse.pactl('load-module', 'module-loopback', 'source=speaker.monitor', 'sink=mic', `latency_msec=${path.delayMs}`, 'source_dont_move=true', 'sink_dont_move=true', 'remix=true')).trim();
        delayMs = path.delayMs;
      }
      const input = await loopbackSinkInput(pulse, module!);
      // As a linear amplitude factor (pactl's "-6dB" reads as an option, and it refuses fractional dB).
      await pulse.pactl('set-sink-input-volume', input, (10 ** (path.gainDb / 20)).toFixed(4));
    },
    off,
  };
}

/** The sink input that module `module` (a module-loopback) plays into the mic sink, by its owner module. */
async function loopbackSinkInput(pulse: PrivatePulse, module: string): Promise<string> {
  for (let tries = 0; tries < 50; tries++) {
    const listing = await pulse.pactl('list', 'sink-inputs');
    for (const block of listing.split(/^Sink Input #/m).slice(1)) {
      const id = block.match(/^(\d+)/)?.[1];
      if (id && new RegExp(`Owner Module: ${module}\\b`).test(block)) return id;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`module-loopback ${module} has no sink input`);
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
