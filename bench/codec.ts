// `npm run bench:codec`: the client's audio path per second of audio, Earshot's DSP (polyphase windowed-sinc
// resampler, table base64) against the naive way (linear interpolation, String.fromCharCode + btoa,
// atob + char loop), in the same run. Also the quality each achieves. Numbers only; nothing asserts.
import { Resampler } from '../client/src/dsp/resampler.ts';
import { decodeBase64, encodeBase64 } from '../client/src/dsp/base64.ts';
import { floatToPcm16, pcm16ToFloat } from '../client/src/dsp/pcm16.ts';

const IN_RATE = 48_000;
const WIRE = 24_000;
const FRAME_IN = IN_RATE / 50;

function naiveResample(input: Float32Array, inRate: number, outRate: number): Float32Array {
  const out = new Float32Array(Math.floor((input.length * outRate) / inRate));
  const step = inRate / outRate;
  for (let i = 0; i < out.length; i++) {
    const pos = i * step;
    const j = Math.floor(pos);
    const f = pos - j;
    out[i] = (input[j] ?? 0) * (1 - f) + (input[j + 1] ?? input[j] ?? 0) * f;
  }
  return out;
}

function naivePcm16(samples: Float32Array): Uint8Array {
  const out = new Uint8Array(samples.length * 2);
  const view = new DataView(out.buffer);
  for (let i = 0; i < samples.length; i++) view.setInt16(i * 2, Math.max(-1, Math.min(1, samples[i]!)) * 0x7fff, true);
  return out;
}

function naiveBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]!);
  return btoa(s);
}

function naiveDecode(b64: string): Float32Array {
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  const view = new DataView(bytes.buffer);
  const out = new Float32Array(bytes.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = view.getInt16(i * 2, true) / 0x8000;
  return out;
}

function tone(freq: number, rate: number, seconds: number, amp = 0.5): Float32Array {
  return Float32Array.from({ length: Math.round(rate * seconds) }, (_, i) => amp * Math.sin((2 * Math.PI * freq * i) / rate));
}

/** µs of CPU per second of audio for `run` over one second of input. */
function usPerAudioSecond(run: () => void, reps = 20): number {
  for (let i = 0; i < 3; i++) run();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < reps; i++) run();
  return Number(process.hrtime.bigint() - t0) / 1000 / reps;
}

/** Power of the residual after removing the best-fit sine at `freq`, relative to the signal (dB). */
function snrDb(signal: Float32Array, rate: number, freq: number, skip: number): number {
  let ss = 0;
  let cc = 0;
  let sc = 0;
  let ys = 0;
  let yc = 0;
  for (let i = skip; i < signal.length - skip; i++) {
    const s = Math.sin((2 * Math.PI * freq * i) / rate);
    const c = Math.cos((2 * Math.PI * freq * i) / rate);
    ss += s * s;
    cc += c * c;
    sc += s * c;
    ys += signal[i]! * s;
    yc += signal[i]! * c;
  }
  const det = ss * cc - sc * sc;
  const a = (ys * cc - yc * sc) / det;
  const b = (yc * ss - ys * sc) / det;
  let sig = 0;
  let err = 0;
  for (let i = skip; i < signal.length - skip; i++) {
    const fit = a * Math.sin((2 * Math.PI * freq * i) / rate) + b * Math.cos((2 * Math.PI * freq * i) / rate);
    sig += fit * fit;
    err += (signal[i]! - fit) ** 2;
  }
  return 10 * Math.log10(sig / err);
}

function rmsDb(x: Float32Array, skip: number): number {
  let s = 0;
  for (let i = skip; i < x.length - skip; i++) s += x[i]! * x[i]!;
  return 10 * Math.log10(s / (x.length - 2 * skip));
}

export interface CodecRow {
  path: string;
  earshotUs: number;
  naiveUs: number;
  speedup: number;
}

export function runCodecBench(): { rows: CodecRow[]; quality: string[] } {
  const second = tone(1000, IN_RATE, 1, 0.3);
  const frames = Array.from({ length: 50 }, (_, i) => second.subarray(i * FRAME_IN, (i + 1) * FRAME_IN));
  // Encode: 50 frames of 20 ms at 48 kHz → 24 kHz pcm16 → base64 → append event JSON.
  // The client builds its resampler once per session; so does the bench.
  const resampler = new Resampler(IN_RATE, WIRE);
  const wireFrames = frames.map((f) => new Resampler(IN_RATE, WIRE).process(f));
  const pcmFrames = wireFrames.map((f) => floatToPcm16(f));
  const earshotEncode = () => {
    for (const f of frames) JSON.stringify({ type: 'input_audio_buffer.append', audio: encodeBase64(floatToPcm16(resampler.process(f))) });
  };
  const naiveEncode = () => {
    for (const f of frames) JSON.stringify({ type: 'input_audio_buffer.append', audio: naiveBase64(naivePcm16(naiveResample(f, IN_RATE, WIRE))) });
  };
  // Decode: 5 deltas of 200 ms (24 kHz pcm16 base64) → Float32.
  const deltas = Array.from({ length: 5 }, () => encodeBase64(floatToPcm16(tone(440, WIRE, 0.2, 0.3))));
  const rows: CodecRow[] = [];
  const steps: Array<readonly [string, () => void, () => void]> = [
    ['encode 1 s: whole path (48 kHz float → append events)', earshotEncode, naiveEncode],
    ['  resample 48k → 24k (sinc vs linear)', () => { for (const f of frames) resampler.process(f); }, () => { for (const f of frames) naiveResample(f, IN_RATE, WIRE); }],
    ['  float → pcm16', () => { for (const f of wireFrames) floatToPcm16(f); }, () => { for (const f of wireFrames) naivePcm16(f); }],
    ['  base64 encode (table vs fromCharCode + btoa)', () => { for (const p of pcmFrames) encodeBase64(p); }, () => { for (const p of pcmFrames) naiveBase64(p); }],
    ['decode 1 s: deltas → float (table base64 vs atob + char loop)', () => { for (const d of deltas) pcm16ToFloat(decodeBase64(d)); }, () => { for (const d of deltas) naiveDecode(d); }],
  ];
  for (const [path, e, n] of steps) {
    const earshotUs = usPerAudioSecond(e, 50);
    const naiveUs = usPerAudioSecond(n, 50);
    rows.push({ path, earshotUs, naiveUs, speedup: naiveUs / earshotUs });
  }
  const skip = 200;
  const sincPass = new Resampler(IN_RATE, WIRE).process(tone(1000, IN_RATE, 1));
  const linPass = naiveResample(tone(1000, IN_RATE, 1), IN_RATE, WIRE);
  const sincAlias = new Resampler(IN_RATE, WIRE).process(tone(15_000, IN_RATE, 1));
  const linAlias = naiveResample(tone(15_000, IN_RATE, 1), IN_RATE, WIRE);
  const ref = rmsDb(tone(15_000, IN_RATE, 1), skip);
  const quality = [
    `1 kHz passband SNR, 48k→24k: sinc ${snrDb(sincPass, WIRE, 1000, skip).toFixed(1)} dB, linear ${snrDb(linPass, WIRE, 1000, skip).toFixed(1)} dB`,
    `15 kHz tone (aliases to 9 kHz) attenuation, 48k→24k: sinc ${(ref - rmsDb(sincAlias, skip)).toFixed(1)} dB, linear ${(ref - rmsDb(linAlias, skip)).toFixed(1)} dB`,
  ];
  return { rows, quality };
}

export function codecTable(rows: CodecRow[]): string {
  return ['| path | Earshot µs per audio second | naive µs per audio second | speed-up |', '|---|---|---|---|', ...rows.map((r) => `| ${r.path} | ${r.earshotUs.toFixed(0)} | ${r.naiveUs.toFixed(0)} | ${r.speedup.toFixed(2)}× |`)].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { rows, quality } = runCodecBench();
  console.log(codecTable(rows));
  for (const q of quality) console.log(q);
}
