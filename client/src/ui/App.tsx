// The app shell: onboarding until a token is accepted, then the conversation screen. Everything the app
// talks to (engine, relay check, storage, history) comes in as props so component tests can pass their own.
import { createSignal, Match, onCleanup, onMount, Switch } from 'solid-js';
import type { Engine } from '../session/engine-api.ts';
import type { CheckResult } from '../app/session-check.ts';
import { adoptTokenFromLocation, type TokenStore } from '../app/token-store.ts';
import type { SessionCheckBody } from '../../../protocol/relay-http.ts';
import { needsNewToken, quotaSentence } from '../app/sentences.ts';
import { loadSettings, saveSettings, type AppSettings } from '../app/settings.ts';
import type { HistoryStore } from '../history/history-store.ts';
import { Onboarding } from './Onboarding.tsx';
import { Conversation } from './Conversation.tsx';
import { UpdatePrompt, type UpdateSignal } from './UpdatePrompt.tsx';

export interface AppProps {
  engine: Engine;
  relayUrl: string;
  tokens: TokenStore;
  storage: Storage;
  check: (token: string) => Promise<CheckResult>;
  update?: UpdateSignal;
  /** On-device conversation history (absent: none kept). */
  history?: Promise<HistoryStore | null>;
}

type Screen =
  | { kind: 'loading' }
  | { kind: 'onboarding'; message: string | null }
  | { kind: 'offline'; message: string }
  /** Out of quota: the token is fine, so no token screen; says until when and what to do. */
  | { kind: 'quota'; message: string }
  | { kind: 'ready'; session: SessionCheckBody };

export function App(props: AppProps) {
  const [screen, setScreen] = createSignal<Screen>({ kind: 'loading' });
  const [settings, setSettings] = createSignal<AppSettings>(loadSettings(props.storage));
  const [history, setHistory] = createSignal<HistoryStore | null>(null);
  let retry: ReturnType<typeof setTimeout> | undefined;

  const applyTheme = (s: AppSettings) => {
    document.documentElement.dataset.theme = s.theme;
  };
  applyTheme(settings());

  const verify = async (token: string | null) => {
    clearTimeout(retry);
    if (!token) {
      setScreen({ kind: 'onboarding', message: null });
      return;
    }
    const result = await props.check(token);
    if (result.kind === 'ok') setScreen({ kind: 'ready', session: result.body });
    else if (result.kind === 'rejected') {
      if (result.code === 'quota_exhausted') return setScreen({ kind: 'quota', message: quotaSentence(result.renewsAt ?? null, Date.now()) });
      if (needsNewToken(result.code)) props.tokens.clear();
      setScreen({ kind: 'onboarding', message: result.message });
    } else {
      setScreen({ kind: 'offline', message: result.message });
      retry = setTimeout(() => void verify(props.tokens.get()), 5000);
    }
  };

  // A new onboarding link opened in this same tab (`#token=` changes the hash, no reload): take it at once.
  const onHash = () => {
    if (!adoptTokenFromLocation(props.tokens, location, window.history)) return;
    setScreen({ kind: 'loading' });
    void verify(props.tokens.get());
  };

  onMount(() => {
    void verify(props.tokens.get());
    window.addEventListener('hashchange', onHash);
    void props.history?.then(setHistory).catch((err) => console.warn('[history] unavailable', err));
  });
  onCleanup(() => {
    clearTimeout(retry);
    window.removeEventListener('hashchange', onHash);
  });

  const updateSettings = (next: AppSettings) => {
    setSettings(next);
    saveSettings(props.storage, next);
    applyTheme(next);
  };

  return (
    <div class="app">
      <Switch>
        <Match when={screen().kind === 'loading'}>
          <main class="center" aria-busy="true">
            <p class="state-line">Checking your access…</p>
          </main>
        </Match>
        <Match when={screen().kind === 'onboarding'}>
          <Onboarding
            message={(screen() as { message: string | null }).message}
            onToken={(token) => {
              props.tokens.set(token);
              setScreen({ kind: 'loading' });
              void verify(token);
            }}
          />
        </Match>
        <Match when={screen().kind === 'offline'}>
          <main class="center">
            <h1>Earshot</h1>
            <p class="state-line" role="status">{(screen() as { message: string }).message}</p>
            <button class="secondary" type="button" onClick={() => void verify(props.tokens.get())}>
              Try again now
            </button>
          </main>
        </Match>
        <Match when={screen().kind === 'quota'}>
          <main class="center">
            <h1>Earshot</h1>
            <p class="state-line" role="status">Out of speaking time</p>
            <p class="notice" role="alert">{(screen() as { message: string }).message}</p>
            <button class="secondary" type="button" onClick={() => void verify(props.tokens.get())}>
              Try again now
            </button>
          </main>
        </Match>
        <Match when={screen().kind === 'ready'}>
          <Conversation
            engine={props.engine}
            relayUrl={props.relayUrl}
            token={props.tokens.get() ?? ''}
            session={(screen() as { session: SessionCheckBody }).session}
            settings={settings()}
            history={history()}
            onSettings={updateSettings}
            onRefused={(reason, message) => {
              if (reason === 'quota_exhausted') {
                // The server's close carries no time; ask the check, which says until when.
                void verify(props.tokens.get());
                return;
              }
              props.tokens.clear();
              setScreen({ kind: 'onboarding', message });
            }}
            onSignOut={() => {
              props.tokens.clear();
              setScreen({ kind: 'onboarding', message: null });
            }}
          />
        </Match>
      </Switch>
      {props.update ? <UpdatePrompt update={props.update} /> : null}
    </div>
  );
}
