// Component tests: the real App with a small in-test engine (the boundary the audio engine implements),
// so views and flows are tested without audio hardware. Browser tests use the real engine and relay.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen, waitFor } from '@solidjs/testing-library';
import { App } from './App.tsx';
import type { Engine, EngineEvent, EngineStartOptions } from '../session/engine-api.ts';
import type { CheckResult } from '../app/session-check.ts';
import { makeTokenStore } from '../app/token-store.ts';
import type { SessionCheckBody } from '../../../protocol/relay-http.ts';

afterEach(() => {
  cleanup();
  localStorage.clear();
});

class TestEngine implements Engine {
  listeners = new Set<(e: EngineEvent) => void>();
  calls: string[] = [];
  started: EngineStartOptions | null = null;
  emit(e: EngineEvent) {
    for (const l of this.listeners) l(e);
  }
  async start(o: EngineStartOptions) {
    this.started = o;
    this.calls.push('start');
    this.emit({ kind: 'state', state: { kind: 'listening' } });
  }
  async stop() {
    this.calls.push('stop');
    this.emit({ kind: 'state', state: { kind: 'idle' } });
  }
  setMuted(m: boolean) {
    this.calls.push(`mute:${m}`);
    this.emit({ kind: 'muted', muted: m });
  }
  interrupt() {
    this.calls.push('interrupt');
  }
  resumeAudio() {
    this.calls.push('resume-audio');
  }
  setTalking(d: boolean) {
    this.calls.push(`talk:${d}`);
  }
  sendText(t: string) {
    this.calls.push(`text:${t}`);
  }
  async updateSettings() {
    this.calls.push('settings');
  }
  subscribe(l: (e: EngineEvent) => void) {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
}

const session: SessionCheckBody = {
  user: 'alice',
  tokenId: 't1',
  expiresAt: 9e9,
  backend: 'simulator',
  policy: { mutableFields: ['audio.output.voice'], voice: 'marin', voices: ['marin', 'cedar'], instructions: 'Be brief.', model: 'gpt-realtime' },
};

function setup(check: (token: string) => Promise<CheckResult>, token: string | null = 'tok') {
  const tokens = makeTokenStore(localStorage);
  if (token) tokens.set(token);
  const engine = new TestEngine();
  render(() => <App engine={engine} relayUrl="http://relay.test" tokens={tokens} storage={localStorage} check={check} />);
  return { engine, tokens };
}

describe('App', () => {
  it('asks for a token when there is none, and accepts a pasted onboarding link', async () => {
    const check = vi.fn(async (): Promise<CheckResult> => ({ kind: 'ok', body: session }));
    const { tokens } = setup(check, null);
    const input = await screen.findByLabelText('Access token or link');
    fireEvent.input(input, { target: { value: 'https://earshot.example/#token=abc.def.ghi' } });
    fireEvent.click(screen.getByRole('button', { name: 'Continue' }));
    await screen.findByRole('button', { name: 'Start conversation' });
    expect(tokens.get()).toBe('abc.def.ghi');
    expect(check).toHaveBeenCalledWith('abc.def.ghi');
  });

  it('shows what to do when the token is expired, and forgets it', async () => {
    const { tokens } = setup(async () => ({ kind: 'rejected', status: 401, code: 'token_expired', message: 'Your access has expired. Ask your operator for a new link.' }));
    expect((await screen.findByRole('alert')).textContent).toMatch(/expired.*new link/);
    expect(tokens.get()).toBeNull();
  });

  it('keeps the token when over quota (it passes with time) and says so', async () => {
    const { tokens } = setup(async () => ({ kind: 'rejected', status: 429, code: 'quota_exhausted', message: 'You have used all your speaking time for now.' }));
    expect((await screen.findByRole('alert')).textContent).toMatch(/speaking time/);
    expect(tokens.get()).toBe('tok');
  });

  it('says the relay is unreachable and offers a retry', async () => {
    setup(async () => ({ kind: 'unreachable', message: 'The Earshot server cannot be reached.' }));
    expect((await screen.findByRole('status')).textContent).toMatch(/cannot be reached/);
    expect(screen.getByRole('button', { name: 'Try again now' })).toBeTruthy();
  });

  it('starts, mutes, interrupts, sends text and stops through the engine, with a state line', async () => {
    const { engine } = setup(async () => ({ kind: 'ok', body: session }));
    fireEvent.click(await screen.findByRole('button', { name: 'Start conversation' }));
    await waitFor(() => expect(screen.getByTestId('state-line').textContent).toBe('Listening'));
    expect(engine.started?.token).toBe('tok');
    expect(engine.started?.canvas).toBeInstanceOf(HTMLCanvasElement);
    fireEvent.click(screen.getByRole('button', { name: 'Mute' }));
    await screen.findByRole('button', { name: 'Unmute' });
    engine.emit({ kind: 'state', state: { kind: 'speaking' } });
    engine.emit({ kind: 'transcript', role: 'assistant', itemId: 'a1', text: 'Echo: 1.0 s of speech heard', final: true });
    engine.emit({ kind: 'turn-latency', ms: 321 });
    await screen.findByText(/Echo: 1.0 s/);
    expect(screen.getByLabelText('Latency of the last turn').textContent).toMatch(/321 ms/);
    engine.emit({ kind: 'link', health: { rttMs: 180, quality: 'fair', underruns: 2, jitterMs: 200 } });
    await waitFor(() => expect(screen.getByLabelText('Latency of the last turn').textContent).toBe('reply after 321 ms · round trip 180 ms · link fair · 2 playback gaps'));
    fireEvent.click(screen.getByRole('button', { name: 'Interrupt' }));
    fireEvent.input(screen.getByLabelText('Type a message'), { target: { value: 'hello' } });
    fireEvent.click(screen.getByRole('button', { name: 'Send' }));
    fireEvent.click(screen.getByRole('button', { name: 'Stop conversation' }));
    await waitFor(() => expect(screen.getByTestId('state-line').textContent).toMatch(/Ready/));
    expect(engine.calls).toEqual(['start', 'mute:true', 'interrupt', 'text:hello', 'stop']);
  });

  it('shows a reconnect countdown and browser-specific help when the mic is denied', async () => {
    const { engine } = setup(async () => ({ kind: 'ok', body: session }));
    await screen.findByRole('button', { name: 'Start conversation' });
    engine.emit({ kind: 'state', state: { kind: 'reconnecting', attempt: 3, retryAt: Date.now() + 4_500 } });
    await waitFor(() => expect(screen.getByTestId('state-line').textContent).toMatch(/reconnecting in [45] s \(attempt 3\)/));
    engine.emit({ kind: 'state', state: { kind: 'error', error: { reason: 'mic_denied', message: 'Earshot cannot use the microphone.', fatal: true } } });
    await screen.findByText('Allow the microphone');
  });

  it('returns to onboarding when the engine reports a revoked token', async () => {
    const { engine } = setup(async () => ({ kind: 'ok', body: session }));
    await screen.findByRole('button', { name: 'Start conversation' });
    engine.emit({ kind: 'state', state: { kind: 'error', error: { reason: 'token_revoked', message: 'Your access was revoked.', fatal: true } } });
    expect((await screen.findByRole('alert')).textContent).toMatch(/revoked/);
    await screen.findByLabelText('Access token or link');
  });

  it('stores settings, offers only the fields the policy allows, and uses hold-to-talk', async () => {
    const { engine } = setup(async () => ({ kind: 'ok', body: session }));
    fireEvent.click(await screen.findByRole('button', { name: 'Settings' }));
    expect(screen.getByText('Voice', { exact: false })).toBeTruthy();
    expect(screen.getByText(/Instructions are set by your operator/)).toBeTruthy();
    fireEvent.click(screen.getByLabelText(/Hold to talk/));
    expect(JSON.parse(localStorage.getItem('earshot.settings')!).mode).toBe('hold-to-talk');
    fireEvent.click(screen.getByRole('button', { name: 'Close settings' }));
    fireEvent.click(screen.getByRole('button', { name: 'Start conversation' }));
    const hold = await screen.findByRole('button', { name: /Hold to talk/ });
    await waitFor(() => expect((hold as HTMLButtonElement).disabled).toBe(false));
    fireEvent.pointerDown(hold, { pointerId: 1 });
    fireEvent.pointerUp(hold, { pointerId: 1 });
    expect(engine.calls).toContain('talk:true');
    expect(engine.calls).toContain('talk:false');
  });
});
