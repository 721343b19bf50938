// Component tests: the real App with a small in-test engine (the boundary the audio engine implements),
// so views and flows are tested without audio hardware. Browser tests use the real engine and relay.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen, waitFor } from '@solidjs/testing-library';
import { App } from './App.tsx';
import type { Engine, EngineEvent, EngineStartOptions } from '../session/engine-api.ts';
import type { CheckResult } from '../app/session-check.ts';
import { makeTokenStore } from '../app/token-store.ts';
import type { SessionCheckBody } from '../../../protocol/relay-http.ts';
import type { HistoryStore, StoredConversation } from '../history/history-store.ts';

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
  endTurn() {
    this.calls.push('end-turn');
  }
  resumeListening() {
    this.calls.push('resume-listening');
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

function setup(check: (token: string) => Promise<CheckResult>, token: string | null = 'tok', history?: Promise<HistoryStore | null>) {
  const tokens = makeTokenStore(localStorage);
  if (token) tokens.set(token);
  const engine = new TestEngine();
  render(() => <App engine={engine} relayUrl="http://relay.test" tokens={tokens} storage={localStorage} check={check} {...(history ? { history } : {})} />);
  return { engine, tokens };
}

/** The device's history kept in memory (the browser tests use the real IndexedDB one). */
function memoryHistory(conversations: StoredConversation[]): HistoryStore {
  const byId = new Map(conversations.map((c) => [c.id, c]));
  const newest = () => [...byId.values()].sort((a, b) => b.startedAt - a.startedAt);
  return {
    async save(c) {
      byId.set(c.id, c);
    },
    async get(id) {
      return byId.get(id) ?? null;
    },
    async list() {
      return newest().map((c) => ({ id: c.id, startedAt: c.startedAt, updatedAt: c.updatedAt, lineCount: c.lines.length }));
    },
    async latest() {
      return newest()[0] ?? null;
    },
    async remove(id) {
      byId.delete(id);
    },
    async clear() {
      byId.clear();
    },
    close() {},
  };
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

  it('shows the last conversation again after a reload even when the device history opens after the screen', async () => {
    let open = (_: HistoryStore): void => {};
    const history = new Promise<HistoryStore | null>((resolve) => (open = resolve));
    setup(async () => ({ kind: 'ok', body: session }), 'tok', history);
    await screen.findByRole('button', { name: 'Start conversation' });
    open(memoryHistory([{ id: 'c1', startedAt: 1, updatedAt: 2, lines: [{ itemId: 'a1', role: 'assistant', text: 'Kept from last time', interrupted: false }] }]));
    await screen.findByText('Kept from last time');
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

describe('with the screen off', () => {
  const realUserAgent = navigator.userAgent;
  function hide(): void {
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' });
    document.dispatchEvent(new Event('visibilitychange'));
  }
  afterEach(() => {
    vi.useRealTimers();
    // Back to jsdom's own getters (on the prototype).
    delete (document as unknown as Record<string, unknown>).visibilityState;
    Object.defineProperty(navigator, 'userAgent', { configurable: true, get: () => realUserAgent });
  });

  async function listening(): Promise<TestEngine> {
    const { engine } = setup(async () => ({ kind: 'ok', body: session }));
    fireEvent.click(await screen.findByRole('button', { name: 'Start conversation' }));
    await waitFor(() => expect(screen.getByTestId('state-line').textContent).toBe('Listening'));
    return engine;
  }

  it('keeps the conversation going however long the page stays hidden, where the platform allows it', async () => {
    const engine = await listening();
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    hide();
    window.dispatchEvent(new Event('pagehide'));
    document.dispatchEvent(new Event('freeze'));
    vi.advanceTimersByTime(10 * 60_000);
    expect(engine.calls).toEqual(['start']);
    expect(screen.getByTestId('state-line').textContent).toBe('Listening');
  });

  it('ends it at once when "Stop when the screen locks" is on, and says why on return', async () => {
    localStorage.setItem('earshot.settings', JSON.stringify({ stopWhenHidden: true }));
    const engine = await listening();
    hide();
    await waitFor(() => expect(screen.getByTestId('state-line').textContent).toMatch(/Paused while the app was in the background/));
    expect(engine.calls).toEqual(['start', 'stop']);
  });

  it('on an iPhone ends the turn (not the conversation) as the page is hidden', async () => {
    Object.defineProperty(navigator, 'userAgent', { configurable: true, get: () => 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Version/17.0 Mobile/15E148 Safari/604.1' });
    const engine = await listening();
    hide();
    window.dispatchEvent(new Event('pagehide'));
    document.dispatchEvent(new Event('freeze'));
    engine.emit({ kind: 'audio', blocked: true });
    expect(engine.calls).toEqual(['start', 'end-turn']);
  });

  it('ends the turn when the audio is suspended while hidden, listens again on return, and offers Tap to resume', async () => {
    const engine = await listening();
    hide();
    engine.emit({ kind: 'audio', blocked: true });
    expect(engine.calls).toEqual(['start', 'end-turn']);
    delete (document as unknown as Record<string, unknown>).visibilityState;
    document.dispatchEvent(new Event('visibilitychange'));
    expect(engine.calls).toEqual(['start', 'end-turn', 'resume-listening']);
    fireEvent.click(await screen.findByRole('button', { name: 'Tap to resume' }));
    expect(engine.calls).toEqual(['start', 'end-turn', 'resume-listening', 'resume-audio']);
  });

  it('with the screen off, a headset swapped under the conversation ends the turn and then listens on the new microphone', async () => {
    const engine = await listening();
    hide();
    engine.emit({ kind: 'mic', live: false });
    engine.emit({ kind: 'mic', live: true });
    expect(engine.calls).toEqual(['start', 'end-turn', 'resume-listening']);
  });

  it('keeps the screen awake only when the person asked for it', async () => {
    const requests: string[] = [];
    const wakeLock = { request: async (type: string) => (requests.push(type), { release: async () => undefined }) };
    Object.defineProperty(navigator, 'wakeLock', { configurable: true, value: wakeLock });
    try {
      await listening();
      expect(requests).toEqual([]);
      cleanup();
      localStorage.setItem('earshot.settings', JSON.stringify({ keepScreenOn: true }));
      await listening();
      await waitFor(() => expect(requests).toEqual(['screen']));
    } finally {
      delete (navigator as unknown as Record<string, unknown>).wakeLock;
    }
  });

  it('says in settings what this platform does with the screen off', async () => {
    await listening();
    fireEvent.click(screen.getByRole('button', { name: 'Settings' }));
    expect(screen.getByLabelText('Stop when the screen locks')).toBeTruthy();
    expect((screen.getByLabelText('Keep the screen on while talking') as HTMLInputElement).checked).toBe(false);
    expect(screen.getByRole('dialog').textContent).toMatch(/keeps going with the screen off/);
  });
});
