// `npm run bench:mobile-relay`: what the app link (`earshot.v2`: Opus both ways, transcoded by the relay's
// worker pool) costs the relay, beside the verbatim `/v1/realtime` passthrough for the same conversation, and
// what each puts on the phone's link. The relay runs as its own process against the standalone simulator (its
// own process too, so its VAD and pitch shifting are not billed to the relay); relay CPU is read from
// /proc/<pid>/stat, which counts every thread (the Opus workers included).
//
// A "session-minute" is a minute of conversation audio: the user's speech in plus the assistant's reply out.
// Both modes speak the same turns: espeak-ng speech with silence either side, then wait for response.done.
// The app link sends every 40 ms packet (no DTX), so its upstream bytes are an upper bound.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import OpusScript from 'opusscript';
import { SqliteStore } from '../relay/src/store/sqlite-store.ts';
import { loadOrCreateSecret } from '../relay/src/auth/secret.ts';
import { issueToken } from '../relay/src/auth/tokens.ts';
import { AppLinkTestClient, decodeStream, encodeOpusPackets } from '../relay/src/testing/app-link-client.ts';
import { RealtimeTestClient, speechPcm16 } from '../relay/src/testing/realtime-client.ts';
import { REPO_ROOT, tempDataDir } from '../relay/src/testing/start-relay.ts';
import { listeningUrl } from './listening.ts';
import { procStats } from './stats.ts';

const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 4);
const TURNS = Number(process.env.BENCH_TURNS ?? 6);
const read = (p: string) => readFileSync(p, 'utf8');

interface Proc {
  child: ChildProcess;
  url: string;
}

function start(script: string, env: Record<string, string>): Promise<Proc> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, script)], { cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  return listeningUrl(child, script).then((url) => ({ child, url }));
}

function stop(p: Proc): Promise<void> {
  return new Promise((resolve) => {
    if (p.child.exitCode !== null) return resolve();
    p.child.once('exit', () => resolve());
    p.child.kill('SIGKILL');
  });
}

/** WebSocket frame header bytes for a payload of `n` (client frames are masked: +4). */
const wsHeader = (n: number, fromClient: boolean) => (n < 126 ? 2 : n < 65_536 ? 4 : 10) + (fromClient ? 4 : 0);

interface Run {
  cpuSeconds: number;
  upBytes: number;
  downBytes: number;
  inputSeconds: number;
  replySeconds: number;
  wallSeconds: number;
}

async function measure(pid: number, body: () => Promise<Omit<Run, 'cpuSeconds' | 'wallSeconds'>>): Promise<Run> {
  const before = procStats(pid, read).cpuSeconds;
  const t0 = performance.now();
  const r = await body();
  const wallSeconds = (performance.now() - t0) / 1000;
  // /proc ticks are 10 ms: give the last tick a moment to land.
  await new Promise((res) => setTimeout(res, 50));
  return { ...r, cpuSeconds: procStats(pid, read).cpuSeconds - before, wallSeconds };
}

async function main(): Promise<void> {
  const speech = speechPcm16('hello relay, can you hear me, this is a benchmark turn', 0.8);
  const inputSeconds = speech.byteLength / 2 / 24_000;
  const packets = encodeOpusPackets(speech, 40);

  const dataDir = tempDataDir('earshot-bench-mobile-');
  const store = await SqliteStore.open(dataDir);
  await store.upsertUser({ id: 'bench', maxSessions: 100_000 });
  const issued = await issueToken(await loadOrCreateSecret(dataDir), { userId: 'bench', days: 1 });
  await store.addToken({ id: issued.tokenId, userId: 'bench', createdAt: new Date().toISOString(), expiresAt: issued.expiresAt });
  await store.close();
  const token = issued.token;

  const sim = await start('relay/src/simulator/standalone.ts', { PORT: '0' });
  const relay = await start('relay/src/main.ts', {
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'info',
    EARSHOT_DATA_DIR: dataDir,
    UPSTREAM_URL: sim.url,
    LISTEN_RETRY_SECONDS: '0',
    // Both clients send each turn's audio at once (CPU per audio minute does not depend on pacing); the v1
    // message-count limit would refuse that burst, the app link's duration budget does not.
    MAX_MESSAGES_PER_SECOND: '100000',
  });
  const pid = relay.child.pid!;
  const wsUrl = `${relay.url.replace(/^http/, 'ws')}/v1/realtime`;

  const v1Session = async () => {
    const c = await RealtimeTestClient.connect(wsUrl, { headers: { authorization: `Bearer ${token}` }, perMessageDeflate: false });
    let up = 0;
    let down = 0;
    c.socket.on('message', (d: Buffer) => (down += d.byteLength + wsHeader(d.byteLength, false)));
    await c.waitFor('session.updated').catch((err: unknown) => {
      throw new Error(`${String(err)}: ${JSON.stringify(c.events)}`);
    });
    let replySamples = 0;
    for (let t = 0; t < TURNS; t++) {
      const from = c.events.length;
      for (let i = 0; i < speech.length; i += 960) {
        const frame = JSON.stringify({ type: 'input_audio_buffer.append', audio: speech.subarray(i, i + 960).toString('base64') });
        up += Buffer.byteLength(frame) + wsHeader(Buffer.byteLength(frame), true);
        c.send(frame);
      }
      await c.waitFor('response.done', { from, timeoutMs: 60_000 });
      for (const e of c.events.slice(from)) if (e.type === 'response.output_audio.delta') replySamples += Buffer.from(e.delta, 'base64').byteLength / 2;
    }
    await c.close();
    return { upBytes: up, downBytes: down, inputSeconds: inputSeconds * TURNS, replySeconds: replySamples / 24_000 };
  };

  const v2Session = async () => {
    const c = await AppLinkTestClient.connect(wsUrl, token);
    let up = 0;
    let down = 0;
    c.socket.on('message', (d: Buffer) => (down += d.byteLength + wsHeader(d.byteLength, false)));
    const origSend = c.socket.send.bind(c.socket);
    c.socket.send = ((data: string | Uint8Array, ...rest: unknown[]) => {
      const n = typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
      up += n + wsHeader(n, true);
      return (origSend as (...a: unknown[]) => void)(data, ...rest);
    }) as typeof c.socket.send;
    await c.waitFor('session.updated');
    const turnMs = Math.round(inputSeconds * 1000);
    let last = -Infinity;
    for (let t = 0; t < TURNS; t++) {
      // Stay inside the relay's audio budget (2× real time sustained, after a 10 s burst), as a phone would:
      // a turn starts at least half its audio's duration after the one before.
      const due = last + turnMs / 2;
      if (performance.now() < due) await new Promise((r) => setTimeout(r, due - performance.now()));
      last = performance.now();
      const from = c.events.length;
      for (const p of packets) c.sendAudio(t * (turnMs + 1000) + p.captureMs, p.opus);
      await c.waitFor('response.done', { from, timeoutMs: 60_000 }).catch((err: unknown) => {
        throw new Error(`${String(err).slice(0, 200)}: ${JSON.stringify(c.of('error'))}`);
      });
    }
    const replySamples = decodeStream(c.packets).length;
    await c.close();
    return { upBytes: up, downBytes: down, inputSeconds: inputSeconds * TURNS, replySeconds: replySamples / 24_000 };
  };

  const many = async (one: () => Promise<Omit<Run, 'cpuSeconds' | 'wallSeconds'>>) => {
    const runs = await Promise.all(Array.from({ length: SESSIONS }, one));
    return runs.reduce((a, b) => ({ upBytes: a.upBytes + b.upBytes, downBytes: a.downBytes + b.downBytes, inputSeconds: a.inputSeconds + b.inputSeconds, replySeconds: a.replySeconds + b.replySeconds }));
  };

  try {
    // Warm-up: start the Opus worker and JIT both paths before measuring.
    await v1Session();
    await v2Session();
    const v1 = await measure(pid, () => many(v1Session));
    const v2 = await measure(pid, () => many(v2Session));

    // The codec alone, in this process, for the same audio (the part the pool does).
    const enc = new OpusScript(24_000, 1, OpusScript.Application.VOIP);
    enc.setBitrate(24_000);
    const dec = new OpusScript(24_000, 1, OpusScript.Application.VOIP);
    const pcm = new Int16Array(speech.buffer.slice(speech.byteOffset, speech.byteOffset + speech.byteLength));
    const c0 = process.cpuUsage();
    let coded = 0;
    for (let rep = 0; rep < 10; rep++) {
      for (let at = 0; at + 1440 <= pcm.length; at += 1440) {
        dec.decode(enc.encode(Buffer.from(pcm.buffer, at * 2, 2880), 1440));
        coded += 1440;
      }
    }
    const c1 = process.cpuUsage(c0);
    const codecCpuPerAudioMinute = ((c1.user + c1.system) / 1e6 / (coded / 24_000)) * 60;

    const rows = [
      ['v1 passthrough (base64 pcm16 JSON)', v1],
      ['v2 app link (Opus, transcoded)', v2],
    ] as const;
    console.log(`\n### Relay cost of the app link (${SESSIONS} sessions × ${TURNS} turns each, relay + simulator in their own processes)\n`);
    console.log('| path | conversation min | relay CPU s | relay CPU s per session-minute | sessions per core | client link kbit/s up | down | up+down |');
    console.log('|---|---|---|---|---|---|---|---|');
    for (const [name, r] of rows) {
      const minutes = (r.inputSeconds + r.replySeconds) / 60;
      const perMin = r.cpuSeconds / minutes;
      const kbit = (bytes: number) => ((bytes * 8) / (r.inputSeconds + r.replySeconds) / 1000).toFixed(1);
      console.log(`| ${name} | ${minutes.toFixed(2)} | ${r.cpuSeconds.toFixed(2)} | ${perMin.toFixed(3)} | ${Math.floor(60 / perMin)} | ${kbit(r.upBytes)} | ${kbit(r.downBytes)} | ${kbit(r.upBytes + r.downBytes)} |`);
    }
    const m1 = (v1.inputSeconds + v1.replySeconds) / 60;
    const m2 = (v2.inputSeconds + v2.replySeconds) / 60;
    console.log(`\n- v2 / v1 relay CPU per session-minute: ${((v2.cpuSeconds / m2) / (v1.cpuSeconds / m1)).toFixed(2)}×`);
    console.log(`- v2 / v1 bytes on the client link: ${((v2.upBytes + v2.downBytes) / m2 / ((v1.upBytes + v1.downBytes) / m1)).toFixed(3)}× (MB per conversation minute: v1 ${((v1.upBytes + v1.downBytes) / m1 / 1e6).toFixed(2)}, v2 ${((v2.upBytes + v2.downBytes) / m2 / 1e6).toFixed(2)})`);
    console.log(`- Opus (opusscript, WASM) encode + decode of one audio minute, in this process: ${codecCpuPerAudioMinute.toFixed(3)} CPU s (${((codecCpuPerAudioMinute / 60) * 100).toFixed(2)} % of a core)`);
    console.log(`- wall time: v1 ${v1.wallSeconds.toFixed(1)} s, v2 ${v2.wallSeconds.toFixed(1)} s (the simulator answers at 4× real time; audio is sent as fast as the link allows)`);
  } finally {
    await stop(relay);
    await stop(sim);
  }
}

await main();
