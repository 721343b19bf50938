// The client-event gate's cost, measured: the verbatim fast path every 20 ms audio append takes (before: peekType
// read the type only; now: scanAppend proves the whole frame is a plain append), against JSON.parse of the same
// frame, and the slow path of a typical session.update. Run: `npm run bench:gate`. Numbers only; nothing asserts.
import { parseConfig } from '../relay/src/config/config.ts';
import { scanAppend } from '../relay/src/policy/append-scan.ts';
import { ClientEventGate } from '../relay/src/policy/event-gate.ts';
import { peekType } from '../relay/src/policy/peek-type.ts';

function nsPerOp(fn: () => unknown, n = 500_000): number {
  for (let i = 0; i < n / 10; i++) fn();
  let best = Infinity;
  for (let round = 0; round < 5; round++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) fn();
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / n);
  }
  return best;
}

const enc = (s: string) => new TextEncoder().encode(s);
// A Buffer, as the bridge hands it over (a view of uWS's ArrayBuffer).
const append = Buffer.from(JSON.stringify({ type: 'input_audio_buffer.append', event_id: 'evt_123456', audio: Buffer.alloc(960, 3).toString('base64') }));
const update = enc(JSON.stringify({ type: 'session.update', event_id: 'evt_1', session: { type: 'realtime', instructions: 'You are a helpful agent. '.repeat(20), audio: { output: { voice: 'cedar' } }, tools: [{ type: 'function', name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } }] } }));
const config = parseConfig({});
const gate = new ClientEventGate({ config, model: 'gpt-realtime', policySession: { type: 'realtime', instructions: 'x' } });

const before = nsPerOp(() => peekType(append));
const after = nsPerOp(() => scanAppend(append));
console.log(`20 ms append (${append.length} bytes):`);
console.log(`  before: peekType (type only)            ${before.toFixed(0)} ns`);
console.log(`  after:  scanAppend (whole-frame proof)   ${after.toFixed(0)} ns  (${(after / before).toFixed(2)}× before)`);
console.log(`  after:  gate.judge (scan + verdict)      ${nsPerOp(() => gate.judge(append, false)).toFixed(0)} ns`);
console.log(`  compare: JSON.parse of the same frame    ${nsPerOp(() => JSON.parse(Buffer.from(append).toString())).toFixed(0)} ns`);
console.log(`session.update (${update.length} bytes), slow path: gate.judge ${nsPerOp(() => gate.judge(update, false), 50_000).toFixed(0)} ns`);
