// Entry of the PWA (main thread: UI only). Wires the real engine, relay check, storage and service worker.
import { render } from 'solid-js/web';
import { useRegisterSW } from 'virtual:pwa-register/solid';
import { App } from './ui/App.tsx';
import { createEngine } from './session/main/engine.ts';
import { benchSwitches } from './app/bench-switches.ts';
import { adoptTokenFromLocation, makeTokenStore } from './app/token-store.ts';
import { checkToken } from './app/session-check.ts';
import { openHistory } from './history/history-store.ts';
import { followVisualViewport } from './app/viewport.ts';
import './ui/styles.css';

const tokens = makeTokenStore(localStorage);
adoptTokenFromLocation(tokens, location, history);
const relayUrl = location.origin;
followVisualViewport(window, document.documentElement);
// The acoustic bench's switches (direct playback, guard off) from the address; none in normal use.
const switches = benchSwitches(location.search);
const engine = createEngine(switches);
// The bench's guard trace (?trace=guard) is read by the bench through the page, never shown.
if (switches.guardTrace) (window as unknown as { __earshotGuardTrace: () => Promise<unknown> }).__earshotGuardTrace = () => engine.debugGuardTrace();
// History stays on this device; a browser without IndexedDB (some private modes) just keeps none.
const conversations = openHistory().catch((err: unknown) => {
  console.warn('[history] IndexedDB unavailable', err);
  return null;
});

function Root() {
  const {
    needRefresh: [needRefresh, setNeedRefresh],
    offlineReady: [offlineReady],
    updateServiceWorker,
  } = useRegisterSW({ immediate: true });
  return (
    <App
      engine={engine}
      relayUrl={relayUrl}
      tokens={tokens}
      storage={localStorage}
      check={(token) => checkToken(relayUrl, token)}
      history={conversations}
      update={{ needRefresh, offlineReady, reload: () => void updateServiceWorker(true), dismiss: () => setNeedRefresh(false) }}
    />
  );
}

render(() => <Root />, document.getElementById('root')!);
