// Entry point of the relay process the mobile-profile tests run inside the emulator's relay namespace
// (`ip netns exec <relay ns> node relay-in-namespace.ts <host>`): the real relay with the in-process simulator,
// behind a recorder that reports what the provider side really saw, parsed here with JSON.parse from the frames the
// simulator received and sent (never with the relay's own parser). One JSON line per report on stdout.
import { startTestRelay } from '../../relay/src/testing/start-relay.ts';
import { createSimulatorUpstreamFactory } from '../../relay/src/simulator/in-process.ts';
import type { Frame, UpstreamFactory } from '../../relay/src/upstream/upstream.ts';

/** What the recorder reports; `session` is the relay's id of the provider session. */
export type ProviderReport =
  | { ev: 'ready'; url: string; token: string }
  | { ev: 'upstream-open'; session: string; opened: number }
  | { ev: 'upstream-close'; session: string; code: number }
  /** A client event the provider received (audio appends are summed into `audio` reports instead). */
  | { ev: 'client'; session: string; type: string; at: number }
  /** A server event the provider sent (audio and transcript deltas left out). */
  | { ev: 'server'; session: string; type: string; at: number; wall: number }
  /** The first `response.output_audio.delta` of a response left the provider (the latency bench's split). */
  | { ev: 'first-audio'; session: string; at: number; wall: number }
  /** Input audio the provider has received on this session so far, ms of 24 kHz pcm16, at relay time `at`. */
  | { ev: 'audio'; session: string; ms: number; at: number };

const report = (r: ProviderReport): void => void process.stdout.write(`${JSON.stringify(r)}\n`);
const text = (frame: Frame): string => (typeof frame === 'string' ? frame : Buffer.from(frame).toString());
const QUIET_SERVER_EVENTS = new Set(['response.output_audio.delta', 'response.output_audio_transcript.delta', 'response.output_text.delta', 'conversation.item.input_audio_transcription.delta', 'rate_limits.updated']);

const host = process.argv[2] ?? '127.0.0.1';
const sim = createSimulatorUpstreamFactory();
let opened = 0;
const recording: UpstreamFactory = (options, handlers) => {
  opened++;
  const session = options.sessionId;
  report({ ev: 'upstream-open', session, opened });
  let audioMs = 0;
  let lastReported = 0;
  let audioSent = false;
  const up = sim(options, {
    onOpen: () => handlers.onOpen(),
    onMessage(frame) {
      try {
        const type = String((JSON.parse(text(frame)) as { type?: unknown }).type);
        if (type === 'response.created') audioSent = false;
        if (type === 'response.output_audio.delta' && !audioSent) {
          audioSent = true;
          report({ ev: 'first-audio', session, at: performance.now(), wall: Date.now() });
        }
        if (!QUIET_SERVER_EVENTS.has(type)) report({ ev: 'server', session, type, at: performance.now(), wall: Date.now() });
      } catch {
        // not JSON: still forwarded
      }
      handlers.onMessage(frame);
    },
    onClose(code, reason, failure) {
      report({ ev: 'upstream-close', session, code });
      handlers.onClose(code, reason, failure);
    },
  });
  return {
    ...up,
    send(frame) {
      try {
        const body = JSON.parse(text(frame)) as { type?: unknown; audio?: unknown };
        if (body.type === 'input_audio_buffer.append' && typeof body.audio === 'string') {
          audioMs += (Buffer.from(body.audio, 'base64').byteLength / 2 / 24_000) * 1000;
          const now = performance.now();
          if (now - lastReported >= 200) {
            lastReported = now;
            report({ ev: 'audio', session, ms: audioMs, at: now });
          }
        } else report({ ev: 'client', session, type: String(body.type), at: performance.now() });
      } catch {
        report({ ev: 'client', session, type: 'unparseable', at: performance.now() });
      }
      up.send(frame);
    },
  };
};

const relay = await startTestRelay({ host, port: 0 }, { upstreamFactory: recording });
const token = await relay.mint('phone', { user: { maxSessions: 20 } });
report({ ev: 'ready', url: relay.url, token });
const stop = (): void => void relay.stop().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
