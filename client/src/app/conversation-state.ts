// The conversation as the UI shows it, derived from engine events by a pure reducer (testable without a DOM).
import type { EngineError, EngineEvent, EngineState, LinkHealth } from '../session/engine-api.ts';
import type { ClientPolicyView } from '../../../protocol/relay-http.ts';

export interface TranscriptLine {
  itemId: string;
  role: 'user' | 'assistant';
  text: string;
  final: boolean;
  /** The assistant was cut off here (barge-in or Interrupt): the text ends where the person stopped it. */
  interrupted: boolean;
}

export interface ConversationView {
  state: EngineState;
  lines: TranscriptLine[];
  lastLatencyMs: number | null;
  muted: boolean;
  notice: EngineError | null;
  policy: ClientPolicyView | null;
  backend: 'simulator' | 'provider' | null;
  user: string | null;
  inputLevel: number;
  /** Round trip, link quality and playback gaps, for the latency/health read-out (null until known). */
  link: LinkHealth | null;
  /** The browser holds the audio until a tap ("Tap to resume"). */
  audioBlocked: boolean;
}

export const initialView: ConversationView = {
  state: { kind: 'idle' },
  lines: [],
  lastLatencyMs: null,
  muted: false,
  notice: null,
  policy: null,
  backend: null,
  user: null,
  inputLevel: 0,
  link: null,
  audioBlocked: false,
};

/** Keeps the transcript bounded so a long conversation does not grow the DOM forever. */
const MAX_LINES = 200;

export function reduce(view: ConversationView, event: EngineEvent): ConversationView {
  switch (event.kind) {
    case 'state':
      return {
        ...view,
        state: event.state,
        ...(event.state.kind === 'listening' ? { notice: null } : {}),
        // The microphone graph (the one owner of mute) is gone: the next Start builds a new one, unmuted.
        ...(event.state.kind === 'idle' || event.state.kind === 'error' ? { muted: false } : {}),
      };
    case 'transcript': {
      const i = view.lines.findIndex((l) => l.itemId === event.itemId);
      const line: TranscriptLine = { itemId: event.itemId, role: event.role, text: event.text, final: event.final, interrupted: event.interrupted === true };
      const lines = i >= 0 ? view.lines.map((l, j) => (j === i ? line : l)) : [...view.lines, line].slice(-MAX_LINES);
      return { ...view, lines };
    }
    case 'turn-latency':
      return { ...view, lastLatencyMs: Math.round(event.ms) };
    case 'notice':
      return { ...view, notice: event.error };
    case 'session':
      return { ...view, policy: event.policy, backend: event.backend, user: event.user };
    case 'muted':
      return { ...view, muted: event.muted };
    case 'level':
      return { ...view, inputLevel: event.input };
    case 'link':
      return { ...view, link: event.health };
    case 'mic':
      return view; // Conversation.tsx acts on it (lifecycle.ts); nothing to show
    case 'audio':
      return { ...view, audioBlocked: event.blocked };
  }
}

/** What the UI itself knows beyond the engine's events. */
export interface ScreenFacts {
  /** The app stopped the conversation after a while in the background. */
  pausedInBackground: boolean;
}

/**
 * The state line with everything the screen knows: a muted mic, audio held by the browser, a pause in the
 * background and a restarting server each have their own words (the engine state alone cannot tell them apart).
 */
export function statusText(view: Pick<ConversationView, 'state' | 'muted' | 'audioBlocked' | 'notice'>, now: number, facts: ScreenFacts): string {
  const state = view.state;
  if (view.audioBlocked && state.kind !== 'idle' && state.kind !== 'error') return 'Audio is paused by the browser. Tap “Tap to resume”.';
  if (state.kind === 'idle' && facts.pausedInBackground) return 'Paused while the app was in the background. Tap Start to go on.';
  if (state.kind === 'reconnecting' && view.notice?.reason === 'shutting_down') {
    const s = Math.max(0, Math.ceil((state.retryAt - now) / 1000));
    return s > 0 ? `The server is restarting — reconnecting in ${s} s` : 'The server is restarting — reconnecting…';
  }
  if (view.muted && (state.kind === 'listening' || state.kind === 'hearing')) return 'Muted — the assistant cannot hear you. Tap Unmute to talk.';
  return stateText(state, now);
}

/** The state line: always says what is happening, in words. `now` drives the reconnect countdown. */
export function stateText(state: EngineState, now: number): string {
  switch (state.kind) {
    case 'idle':
      return 'Ready. Tap Start to talk.';
    case 'connecting':
      return 'Connecting…';
    case 'listening':
      return 'Listening';
    case 'hearing':
      return 'Hearing you…';
    case 'thinking':
      return 'Thinking…';
    case 'speaking':
      return 'Speaking';
    case 'reconnecting': {
      const s = Math.max(0, Math.ceil((state.retryAt - now) / 1000));
      return s > 0 ? `Connection lost — reconnecting in ${s} s (attempt ${state.attempt})` : 'Connection lost — reconnecting…';
    }
    case 'error':
      return state.error.message;
  }
}

export function isActive(state: EngineState): boolean {
  return state.kind !== 'idle' && state.kind !== 'error';
}

/** The small read-out under the state line: last turn's latency, the round trip and the link's quality in words. */
export function healthText(view: Pick<ConversationView, 'lastLatencyMs' | 'link'>): string {
  const parts: string[] = [];
  if (view.lastLatencyMs !== null) parts.push(`reply after ${view.lastLatencyMs} ms`);
  if (view.link) {
    if (view.link.rttMs !== null) parts.push(`round trip ${view.link.rttMs} ms`);
    parts.push(`link ${view.link.quality}`);
    if (view.link.underruns > 0) parts.push(`${view.link.underruns} playback gap${view.link.underruns === 1 ? '' : 's'}`);
  }
  return parts.join(' · ');
}
