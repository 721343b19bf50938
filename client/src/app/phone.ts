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
  stop(): void;
}

/** Media Session metadata and actions, so a headset's play/pause mutes and its stop ends the conversation. */
export function bindMediaSession(nav: Navigator, controls: MediaControls | null): void {
  if (!('mediaSession' in nav)) return;
  const session = nav.mediaSession;
  if (controls === null) {
    for (const action of ['play', 'pause', 'stop'] as const) session.setActionHandler(action, null);
    session.playbackState = 'none';
    return;
  }
  if (typeof MediaMetadata !== 'undefined') {
    session.metadata = new MediaMetadata({ title: 'Earshot conversation', artist: 'Earshot', artwork: [{ src: '/pwa-192x192.png', sizes: '192x192', type: 'image/png' }] });
  }
  session.playbackState = 'playing';
  try {
    session.setActionHandler('play', () => controls.toggleMute());
    session.setActionHandler('pause', () => controls.toggleMute());
    session.setActionHandler('stop', () => controls.stop());
  } catch {
    // Some browsers reject unknown actions.
  }
}
