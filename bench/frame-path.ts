// `npm run bench:frame-path`: the relay's own per-frame work, in process, without sockets: one real RelaySession
// (real gate, metrics, usage meter) between a client side and an upstream that only keep the last frame. Each
// iteration is one 20 ms append up plus the simulator's echo (an output_audio delta) down — one frame pair.
// Every per-frame feature is switched off in turn (relay/src/session/frame-features.ts, as EARSHOT_BENCH_OFF
// does for a relay process) to price it; the process bench (relay.ts) shows what the sockets add on top.
import pino from 'pino';
import { SessionMeter } from '../relay/src/accounts/meter.ts';
import { parseConfig } from '../relay/src/config/config.ts';
import { createMetrics } from '../relay/src/http/metrics.ts';
import { RelaySession, type ConnData } from '../relay/src/session/bridge.ts';
import type { ClientSide } from '../relay/src/session/client-side.ts';
import { ALL_FRAME_FEATURES, FRAME_FEATURE_NAMES, type FrameFeatureName, type FrameFeatures } from '../relay/src/session/frame-features.ts';
import type { Frame, UpstreamHandlers } from '../relay/src/upstream/upstream.ts';

const audio = Buffer.from(Uint8Array.from({ length: 960 }, (_, i) => (i * 37) & 0xff)).toString('base64');

function session(features: FrameFeatures): { up: () => void; down: () => void; sink: { last: Frame | null } } {
  const sink = { last: null as Frame | null };
  let handlers: UpstreamHandlers | null = null;
  const client: ClientSide = { send: (f) => ((sink.last = f), false), bufferedAmount: () => 0, end() {} };
  const data: ConnData = { info: { sessionId: 's', userId: 'u', tokenId: 't', startedAt: Date.now() }, model: 'gpt-realtime', policyUpdate: JSON.stringify({ type: 'session.update', session: { type: 'realtime' } }) };
  const s = new RelaySession(client, data, {
    config: { ...parseConfig({}), limits: { ...parseConfig({}).limits, maxMessagesPerSecond: Number.MAX_SAFE_INTEGER } },
    metrics: createMetrics(),
    upstreamFactory: (_o, h) => {
      handlers = h;
      return { send: (f) => void (sink.last = f), bufferedAmount: () => 0, pause() {}, resume() {}, close() {} };
    },
    hooksFactory: (info) => {
      const meter = new SessionMeter(info.startedAt);
      return { onClientFrame: (t, f, n) => meter.onClientFrame(t, f, n), onServerFrame: (t, f) => meter.onServerFrame(t, f), onEnd() {} };
    },
    log: pino({ level: 'silent' }),
    onEnd() {},
    features,
  });
  s.start();
  // What uWS hands the message handler: an ArrayBuffer (a fresh one each time, as uWS's is only valid in the call).
  const upFrames = Array.from({ length: 64 }, (_, i) => {
    const b = Buffer.from(`{"type":"input_audio_buffer.append","event_id":"t:${1_000_000_000_000 + i}:${i}","audio":"${audio}"}`);
    return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
  });
  const downFrames = Array.from({ length: 64 }, (_, i) =>
    Buffer.from(`{"type":"response.output_audio.delta","event_id":"t:${1_000_000_000_000 + i}:${i}","response_id":"resp_1","item_id":"item_1","output_index":0,"content_index":0,"delta":"${audio}"}`),
  );
  let i = 0;
  return {
    up: () => s.onClientMessage(upFrames[i++ & 63]!, false),
    down: () => handlers!.onMessage(downFrames[i & 63]!),
    sink,
  };
}

type Session = ReturnType<typeof session>;

/** ns per frame pair (one append up, one delta down) for one round of `pairs`. */
function round(s: Session, pairs: number): number {
  const t0 = process.hrtime.bigint();
  for (let k = 0; k < pairs; k++) {
    s.up();
    s.down();
  }
  return Number(process.hrtime.bigint() - t0) / pairs;
}

/** ns per frame pair with `features`: the best of several rounds, after a warm-up. */
export function framePairNs(features: FrameFeatures, pairs = 50_000): number {
  const s = session(features);
  round(s, pairs / 4);
  let best = Infinity;
  for (let r = 0; r < 5; r++) best = Math.min(best, round(s, pairs));
  return best;
}

export interface FeatureCost {
  feature: FrameFeatureName | 'all' | 'none';
  nsPerPair: number;
  /** What switching this feature off saves, ns per frame pair. */
  savedNs: number;
}

/**
 * Every build (all on, each one off, all off) gets its own session; rounds of each are INTERLEAVED and the best
 * round per build kept, so a burst of load from other processes on a shared machine hits every build alike and
 * the minimum (the round nobody interrupted) is compared. FRAME_PATH_ROUNDS tunes it.
 */
export function runFramePathBench(rounds = Number(process.env.FRAME_PATH_ROUNDS ?? 30), pairs = 10_000): FeatureCost[] {
  const builds: Array<[FeatureCost['feature'], FrameFeatures]> = [
    ['all', ALL_FRAME_FEATURES],
    ...FRAME_FEATURE_NAMES.map((f): [FrameFeatureName, FrameFeatures] => [f, { ...ALL_FRAME_FEATURES, [f]: false }]),
    ['none', Object.fromEntries(FRAME_FEATURE_NAMES.map((f) => [f, false])) as unknown as FrameFeatures],
  ];
  const sessions = builds.map(([, f]) => session(f));
  for (const s of sessions) round(s, pairs);
  const best = builds.map(() => Infinity);
  for (let r = 0; r < rounds; r++) sessions.forEach((s, i) => (best[i] = Math.min(best[i]!, round(s, pairs))));
  const all = best[0]!;
  return builds.map(([feature], i) => ({ feature, nsPerPair: best[i]!, savedNs: feature === 'all' ? 0 : all - best[i]! }));
}

export function framePathTable(rows: FeatureCost[]): string {
  const out = ['| switched off | ns / frame pair | saves ns / pair |', '|---|---|---|'];
  for (const r of rows) out.push(`| ${r.feature === 'all' ? '(nothing: every feature on)' : r.feature === 'none' ? '(every feature)' : r.feature} | ${r.nsPerPair.toFixed(0)} | ${r.feature === 'all' ? '-' : r.savedNs.toFixed(0)} |`);
  return out.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(framePathTable(runFramePathBench()));
