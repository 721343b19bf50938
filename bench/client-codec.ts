// Codec worker cost per 20 ms frame, measured in Node (V8, same JIT as Chromium): capture (resample to 24 kHz,
// pcm16, base64, JSON) and playback (base64 decode, pcm16 -> float, resample 24 kHz -> context rate).
// Run: `node --import tsx bench/client-codec.ts`. Numbers only; nothing here asserts.
import { CaptureSender } from '../client/src/session/capture-sender.ts';
import { decodeBase64, encodeBase64 } from '../client/src/dsp/base64.ts';
import { floatToPcm16, pcm16ToFloat } from '../client/src/dsp/pcm16.ts';
import { Resampler } from '../client/src/dsp/resampler.ts';

function usPerOp(fn: () => unknown, n = 5_000): number {
  for (let i = 0; i < n / 5; i++) fn();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn();
  return Number(process.hrtime.bigint() - t0) / n / 1000;
}

for (const rate of [48_000, 44_100, 16_000]) {
  const frame = Float32Array.from({ length: rate / 50 }, (_, i) => 0.3 * Math.sin(i / 7));
  const sender = new CaptureSender(rate);
  const ctx = { capturing: true, assistantAudible: false };
  const us = usPerOp(() => JSON.stringify(sender.onFrame(frame, 0.2, ctx)[0]));
  console.log(`capture ${rate} Hz: 20 ms frame -> append JSON  ${us.toFixed(1)} µs  (${((us / 20_000) * 100).toFixed(2)} % of real time)`);
}

const wire = Float32Array.from({ length: 480 }, (_, i) => 0.3 * Math.sin(i / 5));
const bytes = floatToPcm16(wire);
const b64 = encodeBase64(bytes);
console.log(`base64 encode 960 B                 ${usPerOp(() => encodeBase64(bytes), 50_000).toFixed(2)} µs (Buffer: ${usPerOp(() => Buffer.from(bytes).toString('base64'), 50_000).toFixed(2)} µs)`);
console.log(`base64 decode 960 B                 ${usPerOp(() => decodeBase64(b64), 50_000).toFixed(2)} µs`);
const delta = encodeBase64(floatToPcm16(new Float32Array(4800).fill(0.1)));
for (const rate of [48_000, 44_100]) {
  const r = new Resampler(24_000, rate);
  const us = usPerOp(() => r.process(pcm16ToFloat(decodeBase64(delta))), 1_000);
  console.log(`playback 200 ms delta -> ${rate} Hz   ${us.toFixed(1)} µs  (${((us / 200_000) * 100).toFixed(2)} % of real time)`);
}
