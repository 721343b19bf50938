// Issue 15's speakerphone bench: real Chromium on a software speakerphone (e2e/acoustic/), swept over
// speaker-to-mic gains and delays, for each way the app can be set up — playback through the WebRTC loopback or
// straight to the output, the barge-in guard on or off, Chromium's echo canceller on or off (the control) — with a
// short scripted conversation per cell: two spoken turns, and where the guard is on a barge-in over a long reply.
// The same rig and arithmetic as the CI test (e2e/acoustic/speakerphone.e2e.test.ts).
//
// Columns: ERLE = dB of the assistant's voice at the microphone gone from what the relay forwarded to the
// provider, over the stretches where only the assistant was audible ("≥": the upstream was digital silence there);
// echo/user = the echo's level at the microphone relative to the user's voice (voiced blocks of each); delay = the
// loopback's measured delay; false = turns the provider's VAD opened while the user was silent, per user turn
// spoken; self-cuts = replies the app cut while the user was silent; barge-in = caught within 5 s of the third
// try, and the time from the user starting to talk over the reply to the cut reaching the provider.
//
// Run: `npm run bench:echo` (~25 min on 2 cores). Narrow it with ECHO_GAINS=-6,0 ECHO_DELAYS=40
// ECHO_MODES=shipped,direct (names below); ECHO_TURNS=3 spoken turns per cell; ECHO_FRESH=1 a new conversation per cell (ECHO_FRESH=browser: a new browser and rig too, as the CI test starts); ECHO_BARGE=0 no barge-in; ECHO_ENGINE=firefox runs Firefox ESR instead of Chromium, ECHO_ENGINE=webkit
// WebKitGTK's MiniBrowser (no RTCPeerConnection there: every `loopback` mode plays direct, as the app does, and its
// row says so);
// ECHO_TRACE=1 keeps the session worker's guard trace and prints, per cell, what opened each false turn (the
// frames sent at the VAD's level before it, against when the assistant counted as audible), where the guard opened
// during replies, and the echo's tail after each reply (e2e/acoustic/guard-trace.ts), and adds a column: the ERLE
// at the capture, from the trace's frame levels, before the guard (what the browser's canceller removed alone);
// ECHO_PATH_CHANGE=gain+10@1.5s changes the echo path in every reply, 1.5 s after its first audio reached the relay
// (what makes a real canceller re-diverge: the phone picked up, a hand over the speaker): `gain±N` steps the gain
// by N dB, `delayN` swaps in a loopback of N ms target latency (made before the old one goes), both with a comma
// (`gain+6,delay300@1s`); the cell's path comes back before each utterance (e2e/acoustic/path-change.ts; the
// barge-in's re-asked long question, if any, is not reset). ECHO_ROOM=reverb routes speaker → mic through a
// reverberant room (parec | sox reverb | pacat, speakerphone.ts's roomPipeline) instead of a dry module-loopback,
// ECHO_ROOM=pipe the same pipe with no effect (the control);
// EARSHOT_SKIP_BUILD=1 reuses dist/client.
import { mkdirSync, writeFileSync } from 'node:fs';
import { buildPwa } from '../relay/src/testing/build-pwa.ts';
import { formatErle } from '../e2e/acoustic/echo-metrics.ts';
import { startEchoRig, type AppSwitches, type Playback, type Summary } from '../e2e/acoustic/echo-rig.ts';
import { ENGINES, type EngineName } from '../e2e/engines/driver.ts';
import { ROOMS, type EchoPath, type Room } from '../e2e/acoustic/speakerphone.ts';
import { makePathChanger, parsePathChange, type PathChanger } from '../e2e/acoustic/path-change.ts';
import { explainFalseTurn, onsetProfile, openings, tailProfile, type GuardTraceFrame } from '../e2e/acoustic/guard-trace.ts';

interface Mode {
  name: string;
  label: string;
  switches: AppSwitches;
  /** Whether the cell also has a barge-in (pointless with the guard off: nothing holds the user back). */
  bargeIn: boolean;
  /** Spoken turns per cell. */
  turns: number;
}

const MODES: Mode[] = [
  { name: 'shipped', label: 'loopback + guard (as shipped)', switches: { playback: 'loopback', guard: true }, bargeIn: true, turns: 2 },
  { name: 'direct', label: 'direct + guard', switches: { playback: 'direct', guard: true }, bargeIn: true, turns: 2 },
  { name: 'loopback-noguard', label: 'loopback, guard off (canceller alone)', switches: { playback: 'loopback', guard: false }, bargeIn: false, turns: 2 },
  { name: 'direct-noguard', label: 'direct, guard off (canceller alone)', switches: { playback: 'direct', guard: false }, bargeIn: false, turns: 2 },
  { name: 'noaec', label: 'canceller off + guard (guard alone)', switches: { playback: 'loopback', guard: true, canceller: false }, bargeIn: true, turns: 2 },
  { name: 'noaec-noguard', label: 'canceller off, guard off (control)', switches: { playback: 'loopback', guard: false, canceller: false }, bargeIn: false, turns: 1 },
];

const list = (v: string | undefined, fallback: number[]) => (v ? v.split(',').map(Number) : fallback);
const gains = list(process.env.ECHO_GAINS, [-12, -6, 0, 6]);
const delays = list(process.env.ECHO_DELAYS, [40, 150]);
const tracing = process.env.ECHO_TRACE === '1';
const pathChange = process.env.ECHO_PATH_CHANGE ? parsePathChange(process.env.ECHO_PATH_CHANGE) : null;
const room = (process.env.ECHO_ROOM ?? 'none') as Room;
if (!ROOMS.includes(room)) throw new Error(`ECHO_ROOM="${process.env.ECHO_ROOM}": ${ROOMS.join(', ')}`);
const engineName = (process.env.ECHO_ENGINE ?? 'chromium') as EngineName;
if (!ENGINES.includes(engineName)) throw new Error(`ECHO_ENGINE="${process.env.ECHO_ENGINE}": ${ENGINES.join(', ')}`);
const modes = process.env.ECHO_MODES ? MODES.filter((m) => process.env.ECHO_MODES!.split(',').includes(m.name)) : MODES;

interface Row {
  mode: Mode;
  /** Responses the provider started for each spoken turn, in order (1 each is right). */
  perTurn: number[];
  summary: Summary | null;
  error: string | null;
  /** ECHO_PATH_CHANGE: how many times the path changed in the cell. */
  changes?: number;
  /** How the app played in the cell, where that is not what the mode asked (no RTCPeerConnection: direct). */
  playedAs?: Playback;
}

const fmt = (n: number | null, digits = 1) => (n === null ? 'n/a' : n.toFixed(digits));
function cells(row: Row, path: EchoPath): string[] {
  const s = row.summary;
  const label = row.playedAs ? `${row.mode.label} — played ${row.playedAs}: no RTCPeerConnection` : row.mode.label;
  const head = [label, `${path.gainDb > 0 ? '+' : ''}${path.gainDb} dB`, `${path.delayMs} ms`, ...(row.changes !== undefined ? [String(row.changes)] : [])];
  if (!s) return [...head, '—', ...(tracing ? ['—'] : []), '—', '—', '—', '—', row.perTurn.join(',') || '—', `failed: ${row.error}`];
  const barge = s.bargeIns.length === 0 ? '—' : s.bargeIns.map((b) => (b.caught ? `yes, ${((b.cutMs ?? 0) / 1000).toFixed(1)} s` : `missed (${b.said} said, then "${b.statusAfter}")`)).join('; ');
  return [...head, formatErle(s.erle), ...(tracing ? [formatErle(s.captureErle)] : []), fmt(s.echoToUserDb), s.echoDelayMs === null ? 'n/a' : `${s.echoDelayMs} ms`, `${s.falseTurns}/${s.userTurns}`, String(s.selfCuts), row.perTurn.join(',') || '—', barge + (row.error ? ` (${row.error})` : '')];
}
const HEADER = ['app set-up', 'gain', 'delay asked', ...(pathChange ? [`path changes (${pathChange.label})`] : []), 'ERLE dB', ...(tracing ? ['capture ERLE dB (before the guard)'] : []), 'echo/user dB', 'delay measured', 'false turns', 'self-cuts', 'replies per turn', 'barge-in cut'];
const line = (c: string[]) => `| ${c.join(' | ')} |`;

const ms = (n: number) => `${Math.round(n)} ms`;
const dbList = (peaks: number[]) => peaks.map((p) => (Number.isNaN(p) ? '·' : p.toFixed(0))).join(' ');

/** ECHO_TRACE: the cell's diagnosis, as lines under its table row. */
function printTrace(trace: GuardTraceFrame[], summary: Summary): void {
  if (trace.length === 0) return console.log('  trace: none (the page gave none)');
  for (const at of summary.falseTurnAt) {
    const c = explainFalseTurn(trace, at);
    const f = c.first;
    const where = !f ? 'nothing sent at the VAD level in the 1.5 s before' : f.phase.kind === 'during' ? `during a reply, ${ms(f.phase.ms)} after it became audible (verdict ${f.verdict})` : f.phase.kind === 'after' ? `after a reply, ${ms(f.phase.ms)} after the assistant stopped counting as audible` : 'before any reply';
    console.log(`  false turn: opened by a frame at ${f ? `${f.db} dBFS` : '—'}, ${where}; ${c.loudSent} frames ≥ −40 dBFS sent, peak ${c.peakDb ?? '—'} dBFS`);
  }
  for (const o of openings(trace)) console.log(`  guard opened ${Number.isNaN(o.msIntoSpan) ? '?' : ms(o.msIntoSpan)} into a reply at ${o.db} dBFS`);
  // The echo-likeness rule (echo-likeness.ts): frames where the capture followed the playback, loud ones apart.
  const like = trace.filter((f) => f.audible && f.echoLike);
  console.log(`  echo-like frames while audible: ${like.length}, ${like.filter((f) => f.db >= -32).length} of them at or above the guard's −32 dBFS`);
  const onsets = onsetProfile(trace);
  const tails = tailProfile(trace);
  onsets.forEach((o, i) => console.log(`  reply ${i + 1}: peak dBFS per 250 ms from its start: ${dbList(o)}; per 100 ms after it: ${dbList(tails[i] ?? [])}`));
}

async function main(): Promise<void> {
  if (process.env.EARSHOT_SKIP_BUILD !== '1') buildPwa();
  console.log(`${engineName}: gains ${gains.join(', ')} dB; delays ${delays.join(', ')} ms; ${modes.map((m) => m.name).join(', ')}; room ${room}; path change ${pathChange?.label ?? 'none'}\n`);
  const freshBrowser = process.env.ECHO_FRESH === 'browser';
  let rig = await startEchoRig(engineName);
  const rows: Array<{ row: Row; path: EchoPath }> = [];
  console.log(line(HEADER));
  console.log(line(HEADER.map(() => '---')));
  const trace: GuardTraceFrame[] = [];
  try {
    for (const mode of modes) {
      let conversation: Awaited<ReturnType<typeof rig.open>> | null = null;
      for (const delayMs of delays) {
        for (const gainDb of gains) {
          const path: EchoPath = { gainDb, delayMs, room };
          const row: Row = { mode, perTurn: [], summary: null, error: null };
          // ECHO_FRESH=browser: the CI test's start — a browser whose audio service has never heard a far end.
          if (freshBrowser && rows.length > 0) {
            await rig.close();
            rig = await startEchoRig(engineName);
          }
          // The route changes while nothing plays; a cell begins with the app listening and settled.
          await rig.speakerphone.set(path);
          const from = rig.now();
          let changer: PathChanger | null = null;
          try {
            if (!conversation) {
              conversation = await rig.open({ ...mode.switches, trace: tracing });
              // What the engine says it applied to the microphone (its word; the ERLE column is the measurement).
              console.error(`[${mode.name}] capture settings: ${JSON.stringify(conversation.capture)}`);
            }
            if (conversation.playback !== mode.switches.playback) row.playedAs = conversation.playback;
            if (pathChange) changer = makePathChanger(rig.speakerphone, rig.log, path, pathChange);
            for (let t = 0; t < (Number(process.env.ECHO_TURNS) || mode.turns); t++) {
              await changer?.reset();
              row.perTurn.push((await conversation.turn()).replies);
            }
            await changer?.reset();
            if (mode.bargeIn && process.env.ECHO_BARGE !== '0') await conversation.bargeIn();
          } catch (e) {
            // A conversation that never settles (the assistant answering its own echo) is a result, not a crash:
            // the row keeps what was counted, and the next cell starts on a fresh page.
            row.error = String((e as Error).message ?? e).slice(0, 80);
            if (process.env.ECHO_VERBOSE) console.error(e);
            if (conversation) trace.push(...(await conversation.takeTrace().catch(() => [])));
            await conversation?.page.close().catch(() => undefined);
            conversation = null;
          }
          await changer?.stop();
          // Back to the cell's path, and say how many changes the cell had (one per reply that lasted long enough).
          if (changer) await rig.speakerphone.set(path);
          if (pathChange) row.changes = changer?.appliedAt().length ?? 0;
          if (conversation) trace.push(...(await conversation.takeTrace().catch(() => [])));
          const to = rig.now();
          row.summary = rig.summarize(from, to, path, trace);
          // ECHO_FRESH=1: every cell on a new page, so every cell has a conversation's first reply (the canceller
          // starts unconverged there).
          if ((process.env.ECHO_FRESH === '1' || freshBrowser) && conversation) {
            await conversation.stop().catch(() => undefined);
            conversation = null;
          }
          rows.push({ row, path });
          console.log(line(cells(row, path)));
          if (tracing) {
            const cellTrace = trace.splice(0);
            printTrace(cellTrace, row.summary);
            // ECHO_TRACE_DIR: the cell's raw trace, for a closer look than the printed lines.
            // (made if missing: a crash here after minutes of measuring lost the whole sweep's table once)
            if (process.env.ECHO_TRACE_DIR) mkdirSync(process.env.ECHO_TRACE_DIR, { recursive: true });
            if (process.env.ECHO_TRACE_DIR) writeFileSync(`${process.env.ECHO_TRACE_DIR}/cell-${rows.length}.json`, JSON.stringify({ path, pathChange, changesAt: changer?.appliedAt() ?? [], perTurn: row.perTurn, summary: row.summary, trace: cellTrace }));
          }
        }
      }
      await rig.speakerphone.off();
      await conversation?.stop().catch(() => undefined);
    }
  } finally {
    await rig.close();
  }
  console.log(`\n${rows.length} cells; ERLE over assistant-only stretches, false turns per user turn spoken.`);
}

await main();
