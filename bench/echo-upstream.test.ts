// The stand-in must look exactly like the simulator's benchmark mode to a relay: checked side by side against the
// real simulator server over real sockets (the simulator is the independent implementation here).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startSimulatorServer, type SimulatorServer } from '../relay/src/simulator/server.ts';
import { startEchoUpstream, type EchoUpstream } from './echo-upstream.ts';

/** A client that records every text frame as received. */
async function connect(url: string): Promise<{ ws: WebSocket; frames: string[]; next(): Promise<string> }> {
  const ws = new WebSocket(`${url}?model=gpt-realtime`, { perMessageDeflate: false });
  const frames: string[] = [];
  const waiting: ((s: string) => void)[] = [];
  ws.on('message', (data) => {
    const s = (data as Buffer).toString('utf8');
    const w = waiting.shift();
    if (w) w(s);
    else frames.push(s);
  });
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  return { ws, frames, next: () => (frames.length ? Promise.resolve(frames.shift()!) : new Promise((r) => waiting.push(r))) };
}

const type = (s: string) => (JSON.parse(s) as { type: string }).type;

describe('echo upstream (the relay bench’s upstream stand-in)', () => {
  let sim: SimulatorServer;
  let echo: EchoUpstream;
  beforeAll(async () => {
    sim = await startSimulatorServer({ port: 0, benchmark: true });
    echo = await startEchoUpstream();
  });
  afterAll(async () => {
    echo.close();
    await sim.close();
  });

  it('opens a session with session.created, as the simulator does', async () => {
    const a = await connect(echo.url);
    const b = await connect(sim.url);
    const [ea, eb] = [JSON.parse(await a.next()), JSON.parse(await b.next())] as { type: string; session: { expires_at: number } }[];
    expect(ea!.type).toBe('session.created');
    // expires_at is whole seconds from each session's start: the two may straddle a second.
    expect(Math.abs(ea!.session.expires_at - eb!.session.expires_at)).toBeLessThanOrEqual(1);
    expect({ ...ea!.session, expires_at: 0 }).toEqual({ ...eb!.session, expires_at: 0 });
    a.ws.close();
    b.ws.close();
  });

  it('echoes an append byte for byte as the simulator’s benchmark mode does', async () => {
    const a = await connect(echo.url);
    const b = await connect(sim.url);
    await Promise.all([a.next(), b.next()]);
    const audio = Buffer.alloc(960, 7).toString('base64');
    for (const frame of [`{"type":"input_audio_buffer.append","event_id":"t:0000001234567890:000001","audio":"${audio}"}`, JSON.stringify({ audio, type: 'input_audio_buffer.append', event_id: 'reordered' })]) {
      a.ws.send(frame);
      b.ws.send(frame);
      const [ra, rb] = await Promise.all([a.next(), b.next()]);
      expect(ra).toBe(rb);
      expect(type(ra)).toBe('response.output_audio.delta');
    }
    a.ws.close();
    b.ws.close();
  });

  it('answers the other events through the simulator (session.update → session.updated; bad JSON → error) and stays up', async () => {
    const a = await connect(echo.url);
    await a.next();
    a.ws.send(JSON.stringify({ type: 'session.update', session: { type: 'realtime', instructions: 'hi' } }));
    expect(type(await a.next())).toBe('session.updated');
    a.ws.send('{"type":"input_audio_buffer.append","event_id":"x","audio":"');
    expect(type(await a.next())).toBe('error');
    const c = await connect(echo.url);
    expect(type(await c.next())).toBe('session.created');
    a.ws.close();
    c.ws.close();
  });
});
