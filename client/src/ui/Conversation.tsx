// The conversation screen, mobile first: one big start/stop control, mute, interrupt, hold-to-talk,
// a live transcript, a text box, a state line that always says what is happening, and the waveform.
import { createEffect, createSignal, For, onCleanup, onMount, Show } from 'solid-js';
import type { Engine, EngineEvent } from '../session/engine-api.ts';
import type { SessionCheckBody } from '../../../protocol/relay-http.ts';
import { healthText, initialView, isActive, reduce, stateText, type ConversationView } from '../app/conversation-state.ts';
import type { AppSettings } from '../app/settings.ts';
import { needsNewToken } from '../app/sentences.ts';
import { detectBrowser, micHelp } from '../app/mic-help.ts';
import { bindMediaSession, holdWakeLock, type WakeLockHandle } from '../app/phone.ts';
import { Settings } from './Settings.tsx';

export interface ConversationProps {
  engine: Engine;
  relayUrl: string;
  token: string;
  session: SessionCheckBody;
  settings: AppSettings;
  onSettings(next: AppSettings): void;
  onAuthLost(message: string): void;
  onSignOut(): void;
}

/** After this long in the background a running conversation is stopped (mic released); it resumes on return. */
const BACKGROUND_GRACE_MS = 30_000;

export function Conversation(props: ConversationProps) {
  const [view, setView] = createSignal<ConversationView>({ ...initialView, policy: props.session.policy, backend: props.session.backend, user: props.session.user });
  const [now, setNow] = createSignal(Date.now());
  const [showSettings, setShowSettings] = createSignal(false);
  const [text, setText] = createSignal('');
  const [talking, setTalking] = createSignal(false);
  const [pausedInBackground, setPausedInBackground] = createSignal(false);
  let canvas!: HTMLCanvasElement;
  let wakeLock: WakeLockHandle | null = null;
  let backgroundTimer: ReturnType<typeof setTimeout> | undefined;

  const unsubscribe = props.engine.subscribe((event: EngineEvent) => {
    setView((v) => reduce(v, event));
    if (event.kind === 'state' && event.state.kind === 'error' && needsNewToken(event.state.error.reason)) {
      props.onAuthLost(event.state.error.message);
    }
  });
  const tick = setInterval(() => setNow(Date.now()), 250);

  const active = () => isActive(view().state);

  const start = async () => {
    setPausedInBackground(false);
    await props.engine.start({ relayUrl: props.relayUrl, token: props.token, settings: props.settings, canvas });
  };
  const stop = async () => {
    setTalking(false);
    await props.engine.stop();
  };

  // Keep the screen on and the headset buttons bound only while a conversation runs.
  createEffect(() => {
    if (active()) {
      wakeLock ??= holdWakeLock(navigator, document);
      bindMediaSession(navigator, { toggleMute: () => props.engine.setMuted(!view().muted), stop: () => void stop() });
    } else {
      wakeLock?.release();
      wakeLock = null;
      bindMediaSession(navigator, null);
    }
  });

  // Backgrounded (screen locked, app switched): keep talking for a grace period — a phone call to the assistant
  // may continue with the screen off — then stop capture cleanly and resume when the app is visible again.
  const onVisibility = () => {
    clearTimeout(backgroundTimer);
    if (document.visibilityState === 'hidden' && active()) {
      backgroundTimer = setTimeout(() => {
        if (active()) {
          setPausedInBackground(true);
          void props.engine.stop();
        }
      }, BACKGROUND_GRACE_MS);
    } else if (document.visibilityState === 'visible' && pausedInBackground()) {
      void start();
    }
  };
  onMount(() => document.addEventListener('visibilitychange', onVisibility));

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
    clearTimeout(backgroundTimer);
    document.removeEventListener('visibilitychange', onVisibility);
    window.removeEventListener('keydown', onKey);
    window.removeEventListener('keyup', onKey);
    wakeLock?.release();
    void props.engine.stop();
  });

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

  return (
    <main class="conversation" data-state={view().state.kind}>
      <header class="bar">
        <h1>Earshot</h1>
        <Show when={view().backend === 'simulator'}>
          <span class="badge" title="This server runs the built-in simulator: it echoes your speech back.">Simulator</span>
        </Show>
        <button type="button" class="icon" aria-label="Settings" aria-expanded={showSettings()} onClick={() => setShowSettings(!showSettings())}>
          ⚙
        </button>
      </header>

      <p class="state-line" role="status" aria-live="polite" data-testid="state-line">
        {stateText(view().state, now())}
      </p>
      <Show when={view().notice}>
        <p class="notice" role="alert">
          {view().notice!.message}
        </p>
      </Show>
      <Show when={micDenied()}>
        <div class="help" role="note">
          <h2>Allow the microphone</h2>
          <ol>
            <For each={micHelp(detectBrowser(navigator.userAgent))}>{(step) => <li>{step}</li>}</For>
          </ol>
        </div>
      </Show>
      <Show when={pausedInBackground()}>
        <p class="notice">Paused while the app was in the background. It resumes when you come back.</p>
      </Show>

      <canvas ref={canvas} class="wave" aria-hidden="true" width="320" height="96" />

      <div class="controls">
        <button
          type="button"
          class={`big ${active() ? 'stop' : 'start'}`}
          aria-label={active() ? 'Stop conversation' : 'Start conversation'}
          onClick={() => void (active() ? stop() : start())}
        >
          {active() ? 'Stop' : 'Start'}
        </button>
        <div class="row">
          <button type="button" class="secondary" disabled={!active()} aria-pressed={view().muted} onClick={() => props.engine.setMuted(!view().muted)}>
            {view().muted ? 'Unmute' : 'Mute'}
          </button>
          <button type="button" class="secondary" disabled={view().state.kind !== 'speaking' && view().state.kind !== 'thinking'} onClick={() => props.engine.interrupt()}>
            Interrupt
          </button>
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
        <p class="latency" aria-label="Latency of the last turn" data-quality={view().link?.quality ?? 'unknown'}>
          {healthText(view()) || '\u00a0'}
        </p>
      </div>

      <section class="transcript" aria-label="Transcript" aria-live="polite">
        <Show when={view().lines.length === 0}>
          <p class="empty">{active() ? 'Say something…' : 'Your conversation will appear here.'}</p>
        </Show>
        <For each={view().lines}>
          {(line) => (
            <p class={`line ${line.role}${line.final ? '' : ' partial'}`} data-role={line.role}>
              <span class="who">{line.role === 'user' ? 'You' : 'Assistant'}</span> {line.text}
            </p>
          )}
        </For>
      </section>

      <form class="text-turn" onSubmit={sendText}>
        <label class="visually-hidden" for="text-turn">
          Type a message
        </label>
        <input id="text-turn" type="text" placeholder={active() ? 'Type a message…' : 'Start to send messages'} value={text()} onInput={(e) => setText(e.currentTarget.value)} disabled={!active()} />
        <button type="submit" class="primary small" disabled={!active() || text().trim().length === 0}>
          Send
        </button>
      </form>

      <Show when={showSettings()}>
        <Settings
          settings={props.settings}
          policy={view().policy ?? props.session.policy}
          user={props.session.user}
          onChange={(next) => {
            props.onSettings(next);
            void props.engine.updateSettings(next);
          }}
          onClose={() => setShowSettings(false)}
          onSignOut={props.onSignOut}
        />
      </Show>
    </main>
  );
}
