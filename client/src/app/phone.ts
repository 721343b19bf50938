// Phone hands-free helpers: keep the screen on while talking, and let a headset button mute or stop.
// Both APIs are optional in browsers; every call is feature-detected and failures are harmless.

export interface WakeLockHandle {
  release(): void;
}

/** Holds a screen wake lock and re-acquires it when the page becomes visible again (the browser drops it). */
export function holdWakeLock(nav: Navigator, doc: Document): WakeLockHandle {
  let sentinel: WakeLockSentinel | null = null;
  let released = false;
  const acquire = async () => {
    if (released || !('wakeLock' in nav) || doc.visibilityState !== 'visible') return;
    try {
      sentinel = await nav.wakeLock.request('screen');
    } catch {
      // Denied (battery saver, unsupported): the conversation works, the screen may sleep.
    }
  };
  const onVisible = () => {
    if (doc.visibilityState === 'visible') void acquire();
  };
  doc.addEventListener('visibilitychange', onVisible);
  void acquire();
  return {
    release() {
      released = true;
      doc.removeEventListener('visibilitychange', onVisible);
      void sentinel?.release().catch(() => undefined);
      sentinel = null;
    },
  };
}

export interface MediaControls {
  toggleMute(): void;
  /** Stop the assistant now (as the Interrupt button). */
  interrupt(): void;
  /** End the conversation. */
  stop(): void;
}

/** What the lock screen shows about the conversation. */
export interface MediaStatus {
  /** The state line, e.g. "Listening". */
  state: string;
  muted: boolean;
}

/**
 * Every action the app handles. `togglemicrophone` and `hangup` are Chromium's newer (video-conferencing) actions,
 * missing from TypeScript's list; `nexttrack` and `seekforward` are what a headset's long press or double press
 * sends on many phones.
 */
type Action = MediaSessionAction | 'togglemicrophone' | 'hangup';
const ACTIONS: readonly Action[] = ['play', 'pause', 'togglemicrophone', 'nexttrack', 'seekforward', 'stop', 'hangup'];

function handlerFor(action: Action, controls: MediaControls): () => void {
  switch (action) {
    // A headset has one button: the browser sends play or pause depending on playbackState, and either flips mute.
    case 'play':
    case 'pause':
    case 'togglemicrophone':
      return () => controls.toggleMute();
    case 'nexttrack':
    case 'seekforward':
      return () => controls.interrupt();
    case 'stop':
    case 'hangup':
      return () => controls.stop();
    default:
      return () => undefined;
  }
}

/**
 * Media Session metadata and actions while a conversation runs (null: none runs, everything is unbound), so the
 * lock screen shows it and a headset's buttons mute, interrupt and end it. Browsers show and deliver these only
 * while the page plays audio through a media element: the echo loopback's <audio> element is one (loopback.ts).
 */
export function bindMediaSession(nav: Navigator, controls: MediaControls | null): void {
  if (!('mediaSession' in nav)) return;
  const session = nav.mediaSession;
  for (const action of ACTIONS) {
    try {
      session.setActionHandler(action as MediaSessionAction, controls ? handlerFor(action, controls) : null);
    } catch {
      // An action this browser does not know (TypeError): the others still bind.
    }
  }
  if (controls === null) {
    session.metadata = null;
    session.playbackState = 'none';
  }
}

/** Updates what the lock screen shows: the state line as the artist line, paused while muted. */
export function showMediaStatus(nav: Navigator, status: MediaStatus): void {
  if (!('mediaSession' in nav)) return;
  const session = nav.mediaSession;
  if (typeof MediaMetadata !== 'undefined') {
    const artist = status.muted ? `Muted · ${status.state}` : status.state;
    if (session.metadata?.artist !== artist || session.metadata.title !== TITLE) {
      session.metadata = new MediaMetadata({ title: TITLE, artist, album: 'Earshot', artwork: [{ src: '/pwa-192x192.png', sizes: '192x192', type: 'image/png' }] });
    }
  }
  // Paused while muted, so the next headset press is a "play" (unmute) on browsers that pick the action by state.
  session.playbackState = status.muted ? 'paused' : 'playing';
  // Chromium's returns nothing rather than a promise; a rejection (no capture) is harmless either way.
  if (typeof session.setMicrophoneActive === 'function') void Promise.resolve().then(() => session.setMicrophoneActive(!status.muted)).catch(() => undefined);
}

const TITLE = 'Earshot — conversation';
