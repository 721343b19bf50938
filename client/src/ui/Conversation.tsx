// The conversation screen, mobile first. A fixed top (state line, big Start/Stop, Mute, Interrupt, waveform)
// and a transcript that scrolls in the rest of the height, following the newest line unless the person scrolled
// up (then "Jump to latest"); the text box stays at the bottom, above the on-screen keyboard (viewport.ts).
import { createEffect, createSignal, For, on, onCleanup, onMount, Show } from 'solid-js';
import type { Engine, EngineEvent } from '../session/engine-api.ts';
import type { SessionCheckBody } from '../../../protocol/relay-http.ts';
import { healthText, initialView, isActive, reduce, statusText, type ConversationView, type TranscriptLine } from '../app/conversation-state.ts';
import type { AppSettings } from '../app/settings.ts';
import { needsNewToken } from '../app/sentences.ts';
import { detectBrowser, micHelp } from '../app/mic-help.ts';
import { bindMediaSession, holdWakeLock, showMediaStatus, type WakeLockHandle } from '../app/phone.ts';
import { detectLifecyclePlatform, lifecycleAction, type LifecycleEvent } from '../app/lifecycle.ts';
import { newConversationId, type HistoryStore } from '../history/history-store.ts';
import { Settings } from './Settings.tsx';
import { HistoryPanel } from './HistoryPanel.tsx';
import { DEFAULT_THEME } from '../waveform/wave-history.ts';

export interface ConversationProps {
  engine: Engine;
  relayUrl: string;
  token: string;
  session: SessionCheckBody;
  settings: AppSettings;
  /** Conversation history on this device (absent: nothing is kept, e.g. component tests). */
  history?: HistoryStore | null;
  onSettings(next: AppSettings): void;
  /** A refusal the person must act on (a new token, or waiting for quota), from a live session. */
  onRefused(reason: string, message: string): void;
  onSignOut(): void;
}

/** How close to the bottom (px) still counts as "at the newest line". */
const FOLLOW_SLACK_PX = 32;

export function Conversation(props: ConversationProps) {
  const [view, setView] = createSignal<ConversationView>({ ...initialView, policy: props.session.policy, backend: props.session.backend, user: props.session.user });
  const [now, setNow] = createSignal(Date.now());
  const [showSettings, setShowSettings] = createSignal(false);
  const [showHistory, setShowHistory] = createSignal(false);
  const [text, setText] = createSignal('');
  const [talking, setTalking] = createSignal(false);
  const [pausedInBackground, setPausedInBackground] = createSignal(false);
  const [following, setFollowing] = createSignal(true);
  const [conversationId, setConversationId] = createSignal<string | null>(null);
  let startedAt = 0;
  let canvas!: HTMLCanvasElement;
  let transcript!: HTMLElement;
  let wakeLock: WakeLockHandle | null = null;

  const unsubscribe = props.engine.subscribe((event: EngineEvent) => {
    setView((v) => reduce(v, event));
    if (event.kind === 'audio' && event.blocked) onLifecycle({ kind: 'audio-suspended' });
    if (event.kind === 'mic' && !event.live) onLifecycle({ kind: 'mic-lost' });
    if ((event.kind === 'audio' && !event.blocked) || (event.kind === 'mic' && event.live)) onLifecycle({ kind: 'audio-back' });
    if (event.kind === 'state' && event.state.kind === 'error' && (needsNewToken(event.state.error.reason) || event.state.error.reason === 'quota_exhausted')) {
      props.onRefused(event.state.error.reason, event.state.error.message);
    }
  });
  const tick = setInterval(() => setNow(Date.now()), 250);

  const active = () => isActive(view().state);

  // ---- history: the newest conversation shows again after a reload; each Start begins a new record ----
  // On the history's arrival, not on mount: IndexedDB may open after this screen (a slow device, a fast relay
  // check), and a transcript looked for only at mount would then never show.
  let restored = false;
  createEffect(() => {
    const history = props.history;
    if (!history || restored) return;
    restored = true;
    void history.latest().then((c) => {
      if (!c || conversationId() !== null) return;
      setConversationId(c.id);
      startedAt = c.startedAt;
      const lines: TranscriptLine[] = c.lines.map((l) => ({ ...l, final: true }));
      setView((v) => ({ ...v, lines }));
    });
  });
  createEffect(
    on(
      () => view().lines,
      (lines) => {
        const id = conversationId();
        if (!props.history || !id || lines.length === 0) return;
        const final = lines.filter((l) => l.final && l.text.trim() !== '');
        if (final.length === 0) return;
        const stored = final.map(({ itemId, role, text: t, interrupted }) => ({ itemId, role, text: t, interrupted }));
        void props.history.save({ id, startedAt, updatedAt: Date.now(), lines: stored }).catch((err) => console.warn('[history] save failed', err));
      },
    ),
  );

  const start = async () => {
    // Back from a pause in the background: the same conversation goes on (same record, same transcript).
    const goingOn = pausedInBackground() && conversationId() !== null;
    setPausedInBackground(false);
    setFollowing(true);
    if (!goingOn) {
      // A new conversation: a fresh record and an empty transcript (the old one stays in History).
      startedAt = Date.now();
      setConversationId(newConversationId(startedAt));
      setView((v) => ({ ...v, lines: [], lastLatencyMs: null, notice: null }));
    }
    await props.engine.start({ relayUrl: props.relayUrl, token: props.token, settings: props.settings, canvas });
  };
  const stop = async () => {
    setTalking(false);
    await props.engine.stop();
  };

  // The headset buttons are bound, and the screen kept on if the person asked, only while a conversation runs.
  createEffect(() => {
    if (active()) {
      bindMediaSession(navigator, { toggleMute: () => props.engine.setMuted(!view().muted), interrupt: () => props.engine.interrupt(), stop: () => void stop() });
    } else {
      bindMediaSession(navigator, null);
    }
  });
  createEffect(() => {
    if (active()) showMediaStatus(navigator, { state: statusText(view(), now(), { pausedInBackground: false }), muted: view().muted });
  });
  createEffect(() => {
    if (active() && props.settings.keepScreenOn) wakeLock ??= holdWakeLock(navigator, document);
    else {
      wakeLock?.release();
      wakeLock = null;
    }
  });

  // Screen locked, app switched (lifecycle.ts decides): where the platform keeps a capturing page running the
  // conversation simply goes on, like a call; "Stop when the screen locks" ends it; where the platform takes the
  // audio away (iOS) the turn is ended cleanly and Tap to resume brings it back on return. Coming back never
  // restarts audio by itself: visibilitychange is not a user gesture (iOS would refuse the AudioContext).
  let turnEndedWhileHidden = false;
  function onLifecycle(event: LifecycleEvent): void {
    const action = lifecycleAction(event, {
      // Read at each event, not once: cheap, and a test may emulate a platform before Start.
      platform: detectLifecyclePlatform(navigator.userAgent, navigator.maxTouchPoints ?? 0),
      stopWhenHidden: props.settings.stopWhenHidden,
      active: active(),
      hidden: document.visibilityState === 'hidden',
      turnEnded: turnEndedWhileHidden,
    });
    if (action.kind === 'resume-listening') turnEndedWhileHidden = false;
    switch (action.kind) {
      case 'none':
        return;
      case 'stop':
        setPausedInBackground(true);
        void stop();
        return;
      case 'end-turn':
        turnEndedWhileHidden = true;
        setTalking(false);
        props.engine.endTurn();
        return;
      case 'resume-listening':
        props.engine.resumeListening();
        return;
      default: {
        const never: never = action;
        return never;
      }
    }
  }
  const onVisibility = () => onLifecycle({ kind: document.visibilityState === 'hidden' ? 'hidden' : 'visible' });
  const onPageHide = () => onLifecycle({ kind: 'hidden' });
  const onFreeze = () => onLifecycle({ kind: 'frozen' });
  onMount(() => {
    document.addEventListener('visibilitychange', onVisibility);
    window.addEventListener('pagehide', onPageHide);
    document.addEventListener('freeze', onFreeze);
  });

  // Hold-to-talk with the keyboard: Space held down (outside text fields).
  const onKey = (e: KeyboardEvent) => {
    if (props.settings.mode !== 'hold-to-talk' || !active() || e.code !== 'Space') return;
    if (e.target instanceof HTMLInputElement || e.target instanceof HTMLTextAreaElement) return;
    e.preventDefault();
    const down = e.type === 'keydown';
    if (down && e.repeat) return;
    setTalking(down);
    props.engine.setTalking(down);
  };
  onMount(() => {
    window.addEventListener('keydown', onKey);
    window.addEventListener('keyup', onKey);
  });

  onCleanup(() => {
    unsubscribe();
    clearInterval(tick);
    document.removeEventListener('visibilitychange', onVisibility);
    window.removeEventListener('pagehide', onPageHide);
    document.removeEventListener('freeze', onFreeze);
    window.removeEventListener('keydown', onKey);
    window.removeEventListener('keyup', onKey);
    wakeLock?.release();
    void props.engine.stop();
  });

  // ---- the transcript follows the newest line unless the person scrolled up ----
  const atBottom = () => transcript.scrollHeight - transcript.scrollTop - transcript.clientHeight <= FOLLOW_SLACK_PX;
  // Where our own follow-scroll left the view. A scroll event is dispatched a frame after the scroll, so a line
  // that streams in between would see following() still true and pull the view back down before the handler ran,
  // losing the person's scroll. Comparing with the pinned position sees the scroll without waiting for its event.
  let pinned = { top: 0, height: 0, content: 0 };
  const pinToBottom = () => {
    transcript.scrollTop = transcript.scrollHeight;
    pinned = { top: transcript.scrollTop, height: transcript.clientHeight, content: transcript.scrollHeight };
  };
  // A view that shrank (keyboard, rotation) or content that shrank (a new conversation) moves scrollTop by itself:
  // only an unchanged view over content that did not shrink means a person scrolled.
  const scrolledAwaySincePin = () =>
    transcript.clientHeight === pinned.height &&
    transcript.scrollHeight >= pinned.content &&
    transcript.scrollTop < pinned.top - FOLLOW_SLACK_PX;
  const onScroll = () => {
    const bottom = atBottom();
    if (bottom) pinned = { top: transcript.scrollTop, height: transcript.clientHeight, content: transcript.scrollHeight };
    setFollowing(bottom);
  };
  const jumpToLatest = () => {
    pinToBottom();
    setFollowing(true);
  };
  createEffect(
    on(
      () => view().lines,
      () => {
        if (!following()) return;
        if (scrolledAwaySincePin()) return setFollowing(false);
        queueMicrotask(() => (scrolledAwaySincePin() ? setFollowing(false) : pinToBottom()));
      },
    ),
  );

  const talk = (down: boolean) => {
    if (!active()) return;
    setTalking(down);
    props.engine.setTalking(down);
  };

  const sendText = (e: Event) => {
    e.preventDefault();
    const t = text().trim();
    if (!t || !active()) return;
    props.engine.sendText(t);
    setText('');
  };

  const micDenied = () => {
    const s = view().state;
    return s.kind === 'error' && s.error.reason === 'mic_denied';
  };
  const showWave = () => active() && !view().audioBlocked;

  return (
    <main class="conversation" data-state={view().state.kind} data-mode={props.settings.mode}>
      <header class="top">
        <div class="bar">
          <h1>Earshot</h1>
          <Show when={view().backend === 'simulator'}>
            <span class="badge" title="This server runs the built-in simulator: it echoes your speech back.">Simulator</span>
          </Show>
          <button type="button" class="icon" aria-label="History" aria-expanded={showHistory()} disabled={!props.history} onClick={() => setShowHistory(!showHistory())}>
            ☰
          </button>
          <button type="button" class="icon" aria-label="Settings" aria-expanded={showSettings()} onClick={() => setShowSettings(!showSettings())}>
            ⚙
          </button>
        </div>

        <p class="state-line" role="status" aria-live="polite" data-testid="state-line">
          {statusText(view(), now(), { pausedInBackground: pausedInBackground() })}
        </p>

        <div class="controls">
          <Show
            when={view().audioBlocked && active()}
            fallback={
              <button type="button" class={`big ${active() ? 'stop' : 'start'}`} aria-label={active() ? 'Stop conversation' : 'Start conversation'} onClick={() => void (active() ? stop() : start())}>
                {active() ? 'Stop' : 'Start'}
              </button>
            }
          >
            {/* resumeAudio() must run inside this tap's handler: the browser counts it as the gesture. */}
            <button type="button" class="big resume" aria-label="Tap to resume" onClick={() => props.engine.resumeAudio()}>
              Tap to resume
            </button>
          </Show>
          <div class="side">
            <button type="button" class="secondary" disabled={!active()} aria-pressed={view().muted} onClick={() => props.engine.setMuted(!view().muted)}>
              {view().muted ? 'Unmute' : 'Mute'}
            </button>
            <button type="button" class="secondary" disabled={view().state.kind !== 'speaking' && view().state.kind !== 'thinking'} onClick={() => props.engine.interrupt()}>
              Interrupt
            </button>
            <Show when={view().audioBlocked && active()}>
              <button type="button" class="secondary" aria-label="Stop conversation" onClick={() => void stop()}>
                Stop
              </button>
            </Show>
          </div>
        </div>

        <Show when={props.settings.mode === 'hold-to-talk'}>
          <button
            type="button"
            class={`hold ${talking() ? 'held' : ''}`}
            disabled={!active()}
            aria-pressed={talking()}
            onPointerDown={(e) => {
              // Keep receiving pointerup even if the finger slides off the button.
              e.currentTarget.setPointerCapture?.(e.pointerId);
              talk(true);
            }}
            onPointerUp={() => talk(false)}
            onPointerCancel={() => talk(false)}
          >
            {talking() ? 'Release to send' : 'Hold to talk (or hold Space)'}
          </button>
        </Show>

        {/* The canvas always exists (it is handed to the waveform worker once) but shows only while audio runs. */}
        <div class="wave-box" hidden={!showWave()}>
          <canvas ref={canvas} class="wave" aria-hidden="true" width="320" height="64" />
          <p class="legend" aria-hidden="true">
            <span class="swatch" style={{ background: DEFAULT_THEME.input }} /> You <span class="swatch" style={{ background: DEFAULT_THEME.output }} /> Assistant
          </p>
        </div>

        <Show when={view().notice}>
          <p class="notice" role="alert">
            {view().notice!.message}
          </p>
        </Show>
        <Show when={micDenied()}>
          <div class="help" role="note">
            <h2>Allow the microphone</h2>
            <ol>
              <For each={micHelp(detectBrowser(navigator.userAgent, navigator.maxTouchPoints ?? 0))}>{(step) => <li>{step}</li>}</For>
            </ol>
          </div>
        </Show>
        <p class="latency" aria-label="Latency of the last turn" data-quality={view().link?.quality ?? 'unknown'}>
          {healthText(view()) || '\u00a0'}
        </p>
      </header>

      <div class="transcript-wrap">
        <section class="transcript" role="log" aria-label="Transcript" ref={transcript} onScroll={onScroll}>
          <Show when={view().lines.length === 0}>
            <p class="empty">{active() ? 'Say something…' : 'Your conversation will appear here.'}</p>
          </Show>
          <For each={view().lines}>
            {(line) => (
              <p class={`line ${line.role}${line.final ? '' : ' partial'}${line.interrupted ? ' interrupted' : ''}`} data-role={line.role}>
                <span class="who">{line.role === 'user' ? 'You' : 'Assistant'}</span> {line.text}
                {line.interrupted ? <span class="cut">interrupted</span> : null}
              </p>
            )}
          </For>
        </section>
        <Show when={!following()}>
          <button type="button" class="jump" onClick={jumpToLatest}>
            Jump to latest ↓
          </button>
        </Show>
      </div>

      <form class="text-turn" onSubmit={sendText}>
        <label class="visually-hidden" for="text-turn">
          Type a message
        </label>
        <input id="text-turn" type="text" enterkeyhint="send" placeholder={active() ? 'Type a message…' : 'Start to send messages'} value={text()} onInput={(e) => setText(e.currentTarget.value)} disabled={!active()} />
        <button type="submit" class="primary small" disabled={!active() || text().trim().length === 0}>
          Send
        </button>
      </form>

      <Show when={showSettings()}>
        <Settings
          settings={props.settings}
          policy={view().policy ?? props.session.policy}
          user={props.session.user}
          voiceLocked={active()}
          onChange={(next) => {
            props.onSettings(next);
            void props.engine.updateSettings(next);
          }}
          onClose={() => setShowSettings(false)}
          onSignOut={props.onSignOut}
        />
      </Show>
      <Show when={showHistory() && props.history}>
        <HistoryPanel
          history={props.history!}
          currentId={conversationId()}
          onClose={() => setShowHistory(false)}
          onChanged={() => {
            // The shown conversation was deleted: clear the screen (unless it is still being talked).
            const id = conversationId();
            if (id && !active()) {
              void props.history!.get(id).then((c) => {
                if (!c) {
                  setConversationId(null);
                  setView((v) => ({ ...v, lines: [] }));
                }
              });
            }
          }}
        />
      </Show>
    </main>
  );
}
