// A private PulseAudio server per test run, so browsers have an audio device (headless Firefox without one never
// resumes an AudioContext) and the test can speak into the microphone and listen to what the app played.
//
// Devices: sink `mic` is where the test plays speech (paplay); source `mic_in` is its monitor remapped as an
// ordinary source and made the default (WebKitGTK ignores monitor sources); sink `speaker` is the default
// output, and its monitor is where the test records what the app played (parecord).
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pollUntil, startOwned, type OwnedProcess } from './processes.ts';

const run = promisify(execFile);

export interface PrivatePulse {
  /** Environment for a browser (and paplay/parecord) that should use this server. */
  env: { PULSE_SERVER: string; PULSE_RUNTIME_PATH: string };
  /** Plays a WAV into the microphone (or into another sink, e.g. a headset's, see `pactl`); resolves when played. */
  speak(wav: string, sink?: string): Promise<void>;
  /** Starts recording the speaker: `peak()` is the loudest absolute sample (0..32767) the app has played since. */
  record(): SpeakerRecording;
  /** How many playback streams are open on the speaker now (a browser that plays audio has one). */
  playbackStreams(): Promise<number>;
  /** Runs `pactl` against this server (the hands-free tests load a headset's devices mid-test and make them
   * default); resolves to its stdout. */
  pactl(...args: string[]): Promise<string>;
  stop(): Promise<void>;
}

export interface SpeakerRecording {
  peak(): number;
  stop(): Promise<void>;
}

export async function startPrivatePulse(): Promise<PrivatePulse> {
  const dir = mkdtempSync(join(tmpdir(), 'earshot-pulse-'));
  const socket = join(dir, 'native');
  const env = { PULSE_SERVER: `unix:${socket}`, PULSE_RUNTIME_PATH: dir };
  const childEnv = { ...process.env, ...env, HOME: dir, XDG_CONFIG_HOME: dir, XDG_RUNTIME_DIR: dir };
  // -n: no default.pa (no hardware probing, no X11/dbus modules); everything this run needs is loaded here.
  const daemon: OwnedProcess = startOwned(
    'pulseaudio',
    [
      '--daemonize=no',
      '-n',
      '--exit-idle-time=-1',
      '--disallow-exit',
      '--use-pid-file=no',
      '--system=false',
      '--log-target=stderr',
      `--load=module-native-protocol-unix auth-anonymous=1 socket=${socket}`,
      '--load=module-null-sink sink_name=speaker rate=48000',
      '--load=module-null-sink sink_name=mic rate=48000',
      '--load=module-remap-source source_name=mic_in master=mic.monitor',
      '--load=module-always-sink',
    ],
    { env: childEnv },
  );
  const pactl = (...args: string[]) => run('pactl', args, { env: childEnv });
  try {
    await pollUntil(`PulseAudio (${socket})`, async () => {
      if (daemon.child.exitCode !== null) throw new Error(`pulseaudio exited: ${daemon.stderr()}`);
      await pactl('info');
      return true;
    });
    await pactl('set-default-sink', 'speaker');
    await pactl('set-default-source', 'mic_in');
  } catch (e) {
    await daemon.stop();
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    env,
    async speak(wav, sink = 'mic') {
      await run('paplay', [`--device=${sink}`, wav], { env: childEnv });
    },
    record() {
      const recorder = startOwned('parecord', ['--device=speaker.monitor', '--raw', '--format=s16le', '--rate=48000', '--channels=1'], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
      let peak = 0;
      recorder.child.stdout!.on('data', (chunk: Buffer) => {
        for (let i = 0; i + 1 < chunk.length; i += 2) peak = Math.max(peak, Math.abs(chunk.readInt16LE(i)));
      });
      return { peak: () => peak, stop: () => recorder.stop() };
    },
    async pactl(...args) {
      return (await pactl(...args)).stdout;
    },
    async playbackStreams() {
      const { stdout } = await pactl('list', 'short', 'sink-inputs');
      return stdout.split('\n').filter((l) => l.trim().length > 0).length;
    },
    async stop() {
      await daemon.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
