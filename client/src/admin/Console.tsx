// The console's shell: sign-in (a one-time link in the address's fragment), the section menu, sign-out.
// Sections are hash routes (#people, #links, …) so /admin is the one page the relay serves.
import { createSignal, Match, onCleanup, onMount, Show, Switch, type JSX } from 'solid-js';
import { SIGNIN_FRAGMENT, type AdminMe } from '../../../protocol/admin-api.ts';
import { ApiError, signIn, signOut, whoAmI } from './api.ts';
import { AuditPage } from './pages/AuditPage.tsx';
import { HealthPage } from './pages/HealthPage.tsx';
import { LinksPage } from './pages/LinksPage.tsx';
import { NowPage } from './pages/NowPage.tsx';
import { PeoplePage } from './pages/PeoplePage.tsx';
import { UsagePage } from './pages/UsagePage.tsx';

const SECTIONS = [
  ['people', 'People'],
  ['links', 'Links'],
  ['usage', 'Usage'],
  ['now', 'Now'],
  ['health', 'Health'],
  ['audit', 'Audit'],
] as const;
type Section = (typeof SECTIONS)[number][0];

const sectionOf = (hash: string): Section => SECTIONS.find(([id]) => `#${id}` === hash)?.[0] ?? 'people';

export function Console(): JSX.Element {
  const [me, setMe] = createSignal<AdminMe | null>(null);
  const [state, setState] = createSignal<'loading' | 'signed-out' | 'signed-in'>('loading');
  const [problem, setProblem] = createSignal('');
  const [section, setSection] = createSignal<Section>(sectionOf(location.hash));

  onMount(() => {
    const onHash = () => setSection(sectionOf(location.hash));
    addEventListener('hashchange', onHash);
    onCleanup(() => removeEventListener('hashchange', onHash));
    void start();
  });

  async function start(): Promise<void> {
    const fragment = new URLSearchParams(location.hash.slice(1));
    const link = fragment.get(SIGNIN_FRAGMENT);
    try {
      if (link) {
        // Out of the address bar and history at once: the link is spent either way.
        history.replaceState(null, '', `${location.pathname}#people`);
        setSection('people');
        await signIn(link);
        // The browser may have dropped the Secure cookie (plain HTTP on an address other than localhost).
        const check = await whoAmI();
        if (!check) {
          setProblem('Signed in, but this browser did not keep the sign-in cookie: the console needs HTTPS (or http://localhost on the server itself). Open it over HTTPS and use a fresh admin link.');
          setState('signed-out');
          return;
        }
        setMe(check);
        setState('signed-in');
        return;
      }
      const current = await whoAmI();
      setMe(current);
      setState(current ? 'signed-in' : 'signed-out');
    } catch (err) {
      setProblem(err instanceof ApiError ? err.message : `The Earshot server could not be reached (${(err as Error).message}).`);
      setState('signed-out');
    }
  }

  return (
    <Switch>
      <Match when={state() === 'loading'}>
        <main class="signin" aria-busy="true">
          <p>Loading the operator console…</p>
        </main>
      </Match>
      <Match when={state() === 'signed-out'}>
        <main class="signin">
          <h1>Earshot operator console</h1>
          <Show when={problem()}>
            <p role="alert" class="error">
              {problem()}
            </p>
          </Show>
          <p>
            Sign in with a one-time admin link. On the server, run <code>earshot admin link</code> (or <code>npm run admin -- link</code>) and open the link it prints in this
            browser. Each link works once, for 15 minutes.
          </p>
        </main>
      </Match>
      <Match when={state() === 'signed-in'}>
        <div class="shell">
          <header class="top">
            <span class="brand">Earshot console</span>
            <nav aria-label="Console sections">
              <ul>
                {SECTIONS.map(([id, label]) => (
                  <li>
                    <a href={`#${id}`} aria-current={section() === id ? 'page' : undefined}>
                      {label}
                    </a>
                  </li>
                ))}
              </ul>
            </nav>
            <span class="who">
              {me()?.admin}
              <button
                type="button"
                class="link-button"
                onClick={() =>
                  void signOut().then(() => {
                    setMe(null);
                    setState('signed-out');
                  })
                }
              >
                Sign out
              </button>
            </span>
          </header>
          <main id="content">
            <Switch>
              <Match when={section() === 'people'}>
                <PeoplePage me={me()!} />
              </Match>
              <Match when={section() === 'links'}>
                <LinksPage />
              </Match>
              <Match when={section() === 'usage'}>
                <UsagePage />
              </Match>
              <Match when={section() === 'now'}>
                <NowPage />
              </Match>
              <Match when={section() === 'health'}>
                <HealthPage />
              </Match>
              <Match when={section() === 'audit'}>
                <AuditPage />
              </Match>
            </Switch>
          </main>
        </div>
      </Match>
    </Switch>
  );
}
