// Engine switches for the acoustic bench (`npm run bench:echo`, e2e/acoustic/), read from the page address's
// query: `?playback=direct` plays the assistant straight to the output instead of through the WebRTC loopback the
// echo canceller sees, `?guard=off` turns the barge-in guard off, `?trace=guard` makes the session worker keep a
// per-frame record of the guard's inputs and verdicts that the bench reads from `window.__earshotGuardTrace()`. They exist so the bench can tell the canceller's
// part from the guard's; they are not user settings (a speakerphone user wants both on), so nothing in the UI
// offers them and the app's address never carries them unless someone types them.

/** The part of createEngine()'s EngineOptions (session/main/engine.ts) the switches set; spelled out here so this
 * module and its test need not import the engine (and its worklet URLs). */
export interface BenchSwitches {
  echoLoopback?: boolean;
  bargeInGuard?: boolean;
  guardTrace?: boolean;
}

export function benchSwitches(search: string): BenchSwitches {
  const query = new URLSearchParams(search);
  return {
    ...(query.get('playback') === 'direct' ? { echoLoopback: false } : {}),
    ...(query.get('guard') === 'off' ? { bargeInGuard: false } : {}),
    ...(query.get('trace') === 'guard' ? { guardTrace: true } : {}),
  };
}
