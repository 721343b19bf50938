// The conversation state machine: maps provider events and playback reports to EngineEvents and outgoing
// client events. Owns the barge-in rules (flush, cancel, truncate capped at what was received and never when
// nothing was heard), hold-to-talk, transcripts and turn latency, and the conversation's *activity* (listening,
// hearing, thinking, speaking) — the session runner combines that with the link's state into the one EngineState.
// No I/O: the session worker passes collaborators in, unit tests pass fakes and read what was sent.
import type { ClientEvent, ServerEvent } from '../../../../protocol/realtime.ts';
import { WIRE_SAMPLE_RATE } from '../../../../protocol/constants.ts';
import type { ConversationMode, EngineEvent } from '../engine-api.ts';
import { carryPreamble, type CarryReason } from './link/resume.ts';
import { INPUT_CUT_NOTICE, isBenignProviderError, isSessionExpired, providerError } from '../errors.ts';

export interface PlaybackControl {
  /** Queue 24 kHz samples of `itemId` (the worker resamples them for the playback worklet). */
  enqueue(itemId: string, samples: Float32Array): void;
  /** No more audio will come for `itemId`: play out what is queued even below the jitter target. */
  end(itemId: string): void;
  /** Silence now; the worklet answers with a `flushed` report carrying exact played counts. */
  flush(): void;
}

export interface ConversationDeps {
  send(event: ClientEvent): void;
  emit(event: EngineEvent): void;
  playback: PlaybackControl;
  /** Milliseconds, monotonic (performance.now in the worker). */
  now(): number;
  /** Called when the provider says the session expired (the runner starts a new one). */
  onSessionExpired(): void;
  /** The conversation's activity may have changed (the runner publishes the combined state). */
  activityChanged(activity: Activity): void;
  decode(base64: string): Float32Array;
}

/** What the conversation is doing while the link is up. */
export type Activity = 'listening' | 'hearing' | 'thinking' | 'speaking';

/** Reports from the playback worklet; `played` counts samples at `rate` (the AudioContext's rate). */
export type PlaybackReport =
  | { kind: 'started'; itemId: string }
  | { kind: 'progress'; itemId: string; played: number; rate: number }
  | { kind: 'drained'; itemId: string }
  | { kind: 'flushed'; items: Array<{ itemId: string; played: number }>; rate: number };

interface ItemRecord {
  role: 'user' | 'assistant';
  text: string;
  final: boolean;
  /** Assistant audio received, in 24 kHz samples. */
  received: number;
  /** Assistant audio actually played, in ms. */
  playedMs: number;
  /** Barge-in dropped the rest of this item's audio. */
  cut: boolean;
  /** The audio finished playing to the end. */
  drained: boolean;
}

export interface HistoryLine {
  role: 'user' | 'assistant';
  text: string;
}

let textItemCounter = 0;

export class Conversation {
  private readonly deps: ConversationDeps;
  private mode: ConversationMode;
  private connected = false;
  private userSpeaking = false;
  /** endTurn() until resumeListening(): the page is away, so what the microphone still hears is no new turn. */
  private listeningHeld = false;
  private pendingTurn = false;
  private responseInFlight: string | null = null;
  /** Assistant item whose audio is queued or playing. */
  private audibleItem: string | null = null;
  private playing = false;
  private readonly items = new Map<string, ItemRecord>();
  private readonly order: string[] = [];
  /** Items cut by a barge-in whose truncate waits for the worklet's exact played count. */
  private readonly awaitingTruncate = new Set<string>();
  private turnEndedAt: number | null = null;
  private lastActivity: Activity | null = null;

  constructor(deps: ConversationDeps, mode: ConversationMode) {
    this.deps = deps;
    this.mode = mode;
  }

  // ---- queries used by the worker -----------------------------------------------------------------------

  /**
   * Whether the person's audio is wanted now (hands-free always; hold-to-talk only while held). The runner adds
   * whether there is a link to send it on.
   */
  get wantsAudio(): boolean {
    return !this.listeningHeld && (this.mode === 'hands-free' || this.userSpeaking);
  }

  /**
   * Hold-to-talk and the person is holding: what is captured now is the turn itself (the provider's VAD is off), so
   * the uplink sends all of it, silence included, and the send queue keeps it for a slow link.
   */
  get holding(): boolean {
    return this.mode === 'hold-to-talk' && this.userSpeaking;
  }

  /** Whether assistant audio is queued or playing (the barge-in guard raises its threshold then). */
  get assistantAudible(): boolean {
    return this.audibleItem !== null;
  }

  get activity(): Activity {
    return this.deriveActivity();
  }

  /** The conversation so far as text, in order, for carrying into a fresh session. */
  history(): HistoryLine[] {
    const lines: HistoryLine[] = [];
    for (const id of this.order) {
      const item = this.items.get(id);
      if (item && item.text.trim() !== '') lines.push({ role: item.role, text: item.text.trim() });
    }
    return lines;
  }

  // ---- lifecycle ------------------------------------------------------------------------------------------

  /** The link is up and the provider session configured (a fresh one, or the same one resumed). */
  linkUp(): void {
    this.connected = true;
    this.lastActivity = null;
    this.publishState();
  }

  /**
   * The link dropped but the provider session may be resumed: keep everything — queued audio plays on, the reply
   * in flight continues after the resume. Person's actions wait (there is no link to send them on).
   */
  linkDown(): void {
    this.connected = false;
  }

  /** The provider session is gone (stop, fatal close, expiry, failed resume): whatever was in flight died with it. */
  sessionEnded(): void {
    this.connected = false;
    if (this.audibleItem !== null) this.deps.playback.flush();
    this.audibleItem = null;
    this.playing = false;
    this.responseInFlight = null;
    this.pendingTurn = false;
    this.userSpeaking = false;
    this.turnEndedAt = null;
    this.lastActivity = null;
  }

  /**
   * earshot.v2: the provider's speech_stopped happened at this worker time (its capture_ms mapped to the worker's
   * clock), i.e. when the person stopped speaking on the phone, so the turn latency includes the network.
   */
  speechStoppedAt(workerMs: number): void {
    if (this.pendingTurn && this.turnEndedAt !== null) this.turnEndedAt = Math.min(this.turnEndedAt, workerMs);
  }

  /**
   * earshot.v2 (`earshot.input_cut`): the link died mid-word and the relay cleared the provider's input, so what the
   * person was saying will never become a turn. Say so (nothing is lost silently) and stop showing "hearing": the
   * provider will send no speech_stopped for it. Their next words start a clean turn.
   */
  inputCut(): void {
    this.userSpeaking = false;
    this.turnEndedAt = null;
    this.deps.emit({ kind: 'notice', error: INPUT_CUT_NOTICE });
    this.publishState();
  }

  setMode(mode: ConversationMode): void {
    this.mode = mode;
    this.userSpeaking = false;
    this.publishState();
  }

  // ---- person's actions -----------------------------------------------------------------------------------

  interrupt(): void {
    this.bargeIn();
    this.pendingTurn = false;
    this.publishState();
  }

  /**
   * The page lost its audio under the turn (iOS locked the screen, the system took the microphone while hidden):
   * the reply is cut where it was heard and the unfinished words are dropped, not committed — a half sentence
   * would get an answer nobody hears (playback is suspended too) or one that plays, stale, on return. The person
   * says it again after Tap to resume. A turn the provider already committed is left alone; only its reply goes.
   * No microphone audio is sent from here until resumeListening(): between the screen lock and the suspension (or
   * for good where the system keeps the microphone), whatever it hears would start a turn nobody means.
   */
  endTurn(): void {
    // Held even without a link: a reconnect while away must not start a turn either.
    this.listeningHeld = true;
    if (!this.connected) return;
    this.bargeIn();
    this.deps.send({ type: 'input_audio_buffer.clear' });
    this.userSpeaking = false; // hold-to-talk: the hold ends with nothing to commit
    this.pendingTurn = false;
    this.turnEndedAt = null;
    this.publishState();
  }

  /** Between endTurn() and resumeListening(): nothing the microphone heard may go upstream. */
  get isListeningHeld(): boolean {
    return this.listeningHeld;
  }

  /** The page is back: the microphone's audio makes turns again. */
  resumeListening(): void {
    this.listeningHeld = false;
  }

  setTalking(down: boolean): void {
    if (!this.connected || this.mode !== 'hold-to-talk') return;
    if (down) {
      if (this.userSpeaking) return;
      this.bargeIn();
      this.deps.send({ type: 'input_audio_buffer.clear' });
      this.userSpeaking = true;
    } else {
      if (!this.userSpeaking) return;
      this.userSpeaking = false;
      this.deps.send({ type: 'input_audio_buffer.commit' });
      this.deps.send({ type: 'response.create' });
      this.pendingTurn = true;
      this.turnEndedAt = this.deps.now();
    }
    this.publishState();
  }

  sendText(text: string): void {
    const trimmed = text.trim();
    if (!this.connected || trimmed === '') return;
    this.bargeIn();
    const id = `item_text_${Date.now().toString(36)}_${(textItemCounter++).toString(36)}`.slice(0, 32);
    this.deps.send({ type: 'conversation.item.create', item: { id, type: 'message', role: 'user', content: [{ type: 'input_text', text: trimmed }] } });
    this.deps.send({ type: 'response.create' });
    this.setText(id, 'user', trimmed, true);
    this.pendingTurn = true;
    this.turnEndedAt = this.deps.now();
    this.publishState();
  }

  // ---- provider events ------------------------------------------------------------------------------------

  onServerEvent(event: ServerEvent): void {
    switch (event.type) {
      case 'input_audio_buffer.speech_started':
        if (this.audibleItem !== null || this.responseInFlight !== null) this.bargeIn();
        this.userSpeaking = true;
        this.turnEndedAt = null;
        break;
      case 'input_audio_buffer.speech_stopped':
        this.userSpeaking = false;
        this.pendingTurn = true;
        this.turnEndedAt = this.deps.now();
        break;
      case 'input_audio_buffer.committed':
        this.ensureItem(event.item_id, 'user');
        break;
      case 'conversation.item.input_audio_transcription.delta': {
        const item = this.ensureItem(event.item_id, 'user');
        this.setText(event.item_id, 'user', item.text + (event.delta ?? ''), false);
        break;
      }
      case 'conversation.item.input_audio_transcription.completed':
        this.setText(event.item_id, 'user', event.transcript, true);
        break;
      case 'response.created':
        this.responseInFlight = event.response.id ?? 'response';
        this.pendingTurn = false;
        break;
      case 'response.output_audio.delta':
        this.onAssistantAudio(event.item_id, this.deps.decode(event.delta));
        return;
      case 'response.output_audio.done': {
        const item = this.items.get(event.item_id);
        if (item && !item.cut) this.deps.playback.end(event.item_id);
        break;
      }
      case 'response.output_audio_transcript.delta':
      case 'response.output_text.delta': {
        const item = this.ensureItem(event.item_id, 'assistant');
        this.setText(event.item_id, 'assistant', item.text + event.delta, false);
        break;
      }
      case 'response.output_audio_transcript.done':
        this.finishAssistantText(event.item_id, event.transcript);
        break;
      case 'response.output_text.done':
        this.finishAssistantText(event.item_id, event.text);
        break;
      case 'response.done': {
        if (this.responseInFlight === (event.response.id ?? this.responseInFlight)) this.responseInFlight = null;
        this.pendingTurn = false;
        const status = event.response.status;
        if (status === 'failed') {
          const err = (event.response.status_details as { error?: { type?: string; code?: string; message?: string } } | undefined)?.error;
          this.deps.emit({
            kind: 'notice',
            error: providerError({ type: err?.type ?? 'server_error', code: err?.code ?? null, message: err?.message ?? 'The response failed.' }),
          });
        }
        // A response without audio (text only, or cancelled before any) leaves nothing to wait for.
        if (this.audibleItem !== null && !this.playing) {
          const item = this.items.get(this.audibleItem);
          if (item && item.received === 0) this.audibleItem = null;
        }
        break;
      }
      case 'error':
        if (isSessionExpired(event.error)) {
          this.deps.onSessionExpired();
          break;
        }
        if (isBenignProviderError(event.error)) break;
        this.deps.emit({ kind: 'notice', error: providerError(event.error) });
        break;
      default:
        break;
    }
    this.publishState();
  }

  /** 24 kHz assistant audio of `itemId` (from a v1 base64 delta, or decoded Opus on v2). */
  onAssistantAudio(itemId: string, samples: Float32Array): void {
    const item = this.ensureItem(itemId, 'assistant');
    if (item.cut) return; // audio of a response the person talked over: never play it
    item.received += samples.length;
    this.audibleItem = itemId;
    this.deps.playback.enqueue(itemId, samples);
    this.publishState();
  }

  // ---- playback worklet reports ---------------------------------------------------------------------------

  onPlayback(report: PlaybackReport): void {
    switch (report.kind) {
      case 'started': {
        const item = this.items.get(report.itemId);
        if (item?.cut) break;
        this.playing = true;
        if (this.turnEndedAt !== null) {
          this.deps.emit({ kind: 'turn-latency', ms: Math.round(this.deps.now() - this.turnEndedAt) });
          this.turnEndedAt = null;
        }
        break;
      }
      case 'progress': {
        const item = this.items.get(report.itemId);
        if (item) item.playedMs = Math.max(item.playedMs, (report.played * 1000) / report.rate);
        break;
      }
      case 'drained': {
        const item = this.items.get(report.itemId);
        if (item) item.drained = true;
        if (this.audibleItem === report.itemId) {
          this.audibleItem = null;
          this.playing = false;
        }
        break;
      }
      case 'flushed':
        for (const { itemId, played } of report.items) {
          const item = this.items.get(itemId);
          if (item) item.playedMs = Math.max(item.playedMs, (played * 1000) / report.rate);
        }
        for (const itemId of this.awaitingTruncate) this.sendTruncate(itemId);
        this.awaitingTruncate.clear();
        break;
    }
    this.publishState();
  }

  // ---- internals ------------------------------------------------------------------------------------------

  /**
   * Stop the assistant: flush playback now, cancel a response still being generated, and (once the worklet
   * reports exactly how much was played) truncate the item so the model remembers only what was heard.
   */
  private bargeIn(): void {
    if (this.responseInFlight !== null) {
      this.deps.send({ type: 'response.cancel', response_id: this.responseInFlight });
      this.responseInFlight = null;
    }
    const itemId = this.audibleItem;
    if (itemId === null) return;
    const item = this.items.get(itemId);
    this.audibleItem = null;
    this.playing = false;
    this.deps.playback.flush();
    if (item && !item.drained) {
      item.cut = true;
      this.awaitingTruncate.add(itemId);
    }
  }

  private sendTruncate(itemId: string): void {
    const item = this.items.get(itemId);
    if (!item) return;
    const truncate = truncatePlan(item.playedMs, item.received);
    if (truncate === null) return; // nothing was heard: the provider rejects audio_end_ms 0 and there is nothing to forget
    this.deps.send({ type: 'conversation.item.truncate', item_id: itemId, content_index: 0, audio_end_ms: truncate });
    // Keep the transcript roughly in step with what was heard (the model's memory is truncated exactly).
    const receivedMs = (item.received * 1000) / WIRE_SAMPLE_RATE;
    if (item.text !== '' && receivedMs > 0 && truncate < receivedMs) {
      const words = item.text.split(/\s+/);
      const heard = words.slice(0, Math.max(1, Math.round((words.length * truncate) / receivedMs))).join(' ');
      this.setText(itemId, 'assistant', `${heard}…`, true);
    }
  }

  private finishAssistantText(itemId: string, text: string): void {
    const item = this.ensureItem(itemId, 'assistant');
    if (item.cut && item.final) return; // already cut to what was heard
    this.setText(itemId, 'assistant', text, true);
  }

  private ensureItem(itemId: string, role: 'user' | 'assistant'): ItemRecord {
    let item = this.items.get(itemId);
    if (!item) {
      item = { role, text: '', final: false, received: 0, playedMs: 0, cut: false, drained: false };
      this.items.set(itemId, item);
      this.order.push(itemId);
    }
    return item;
  }

  private setText(itemId: string, role: 'user' | 'assistant', text: string, final: boolean): void {
    const item = this.ensureItem(itemId, role);
    if (item.final && item.cut && role === 'assistant') return;
    item.text = text;
    item.final = final;
    // A reply cut by barge-in or Interrupt says so, so the transcript can mark where it stopped.
    this.deps.emit({ kind: 'transcript', role, itemId, text, final, ...(item.cut && role === 'assistant' ? { interrupted: true } : {}) });
  }

  private deriveActivity(): Activity {
    if (this.userSpeaking) return 'hearing';
    if (this.playing) return 'speaking';
    if (this.pendingTurn || this.responseInFlight !== null || this.audibleItem !== null) return 'thinking';
    return 'listening';
  }

  private publishState(): void {
    if (!this.connected) return;
    const next = this.deriveActivity();
    if (this.lastActivity === next) return;
    this.lastActivity = next;
    this.deps.activityChanged(next);
  }
}

/**
 * `audio_end_ms` for a truncate: what was played, capped at the audio actually received (the provider rejects a
 * longer one), floored to whole ms; null when nothing was played (no truncate at all).
 */
export function truncatePlan(playedMs: number, receivedSamples24k: number): number | null {
  const receivedMs = (receivedSamples24k * 1000) / WIRE_SAMPLE_RATE;
  const end = Math.floor(Math.min(playedMs, receivedMs));
  return end > 0 ? end : null;
}

/** A system message carrying the conversation so far into a fresh session (after expiry or a lost link). */
export function contextCarryEvent(history: HistoryLine[], reason: CarryReason = 'time_limit', maxChars = 6000): ClientEvent | null {
  if (history.length === 0) return null;
  const lines: string[] = [];
  let size = 0;
  for (let i = history.length - 1; i >= 0; i--) {
    const line = `${history[i]!.role === 'user' ? 'User' : 'Assistant'}: ${history[i]!.text}`;
    if (size + line.length > maxChars) break;
    lines.unshift(line);
    size += line.length + 1;
  }
  if (lines.length === 0) return null;
  const text = `${carryPreamble(reason)}\n${lines.join('\n')}`;
  return { type: 'conversation.item.create', item: { type: 'message', role: 'system', content: [{ type: 'input_text', text }] } };
}
