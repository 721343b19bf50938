// What a running conversation does when the page leaves the screen (main thread, pure: Conversation.tsx feeds it
// the page's lifecycle events and carries out the answer). Works with phone.ts (Media Session, wake lock) and
// the engine's endTurn()/stop().
//
// Android Chrome and desktop browsers keep a page with a live microphone running with the screen off, like a
// call: there nothing is done, capture and playback go on. iOS Safari and installed iOS web apps suspend the
// page's audio soon after it is hidden; there, and on any platform whose audio or microphone is taken away while
// hidden, the person's turn is ended cleanly (see endTurn in engine-api.ts) and "Tap to resume" brings the audio
// back on return (a tap is the only gesture iOS accepts for that).
import { detectBrowser, type BrowserKind } from './mic-help.ts';

export type LifecyclePlatform =
  /** Android Chrome, desktop: a capturing page runs on with the screen off. */
  | 'keeps-running'
  /** iOS Safari and installed iOS web apps: audio is suspended once the page is hidden. */
  | 'suspends-when-hidden';

export function lifecyclePlatform(kind: BrowserKind): LifecyclePlatform {
  return kind === 'ios-safari' ? 'suspends-when-hidden' : 'keeps-running';
}

export function detectLifecyclePlatform(userAgent: string, maxTouchPoints: number): LifecyclePlatform {
  return lifecyclePlatform(detectBrowser(userAgent, maxTouchPoints));
}

export type LifecycleEvent =
  | { kind: 'hidden' } // visibilitychange to hidden, or pagehide
  | { kind: 'frozen' } // the freeze event: no script runs until resume
  | { kind: 'visible' }
  /** The AudioContext left 'running' ('suspended', or Safari's 'interrupted'). */
  | { kind: 'audio-suspended' }
  /** The microphone track was muted by the system or ended. */
  | { kind: 'mic-lost' }
  /** The AudioContext runs again, or a microphone is live again (unmuted, or a new one after a device change). */
  | { kind: 'audio-back' };

export interface LifecycleFacts {
  platform: LifecyclePlatform;
  /** The "Stop when the screen locks" setting. */
  stopWhenHidden: boolean;
  /** A conversation runs (connecting through speaking, reconnecting). */
  active: boolean;
  /** The page is hidden now (document.visibilityState). */
  hidden: boolean;
  /** The turn was already ended since the page was last visible (hidden, pagehide, freeze and the suspension all come). */
  turnEnded: boolean;
}

export type LifecycleAction =
  | { kind: 'none' }
  /** End the conversation; coming back shows "Paused while the app was in the background". */
  | { kind: 'stop' }
  /** End the person's turn (drop the unfinished words, cut the reply, hold the microphone); the conversation stays. */
  | { kind: 'end-turn' }
  /** Back after an end-turn: the microphone makes turns again (the audio itself may still wait for a tap). */
  | { kind: 'resume-listening' };

export function lifecycleAction(event: LifecycleEvent, facts: LifecycleFacts): LifecycleAction {
  if (event.kind === 'visible') return facts.turnEnded ? { kind: 'resume-listening' } : { kind: 'none' };
  // The audio came back by itself while hidden (a headset swapped, a call ended): where the platform keeps a hidden
  // page running, the person may be talking with the screen off, so listen again. On iOS a hidden page's audio stays
  // held until it is visible (it would still run for a moment between the lock and the suspension).
  if (event.kind === 'audio-back') return facts.turnEnded && (facts.platform === 'keeps-running' || !facts.hidden) ? { kind: 'resume-listening' } : { kind: 'none' };
  const action = decide(event, facts);
  return action.kind === 'end-turn' && facts.turnEnded ? { kind: 'none' } : action;
}

function decide(event: LifecycleEvent, facts: LifecycleFacts): LifecycleAction {
  if (!facts.active) return { kind: 'none' };
  switch (event.kind) {
    case 'hidden':
    case 'frozen':
      if (facts.stopWhenHidden) return { kind: 'stop' };
      // iOS suspends the audio within moments and does not always say so first: end the turn while we still run.
      return facts.platform === 'suspends-when-hidden' ? { kind: 'end-turn' } : { kind: 'none' };
    case 'audio-suspended':
    case 'mic-lost':
      // In the foreground these are an iOS call or Siri, handled by Tap to resume alone; hidden, the platform took
      // the audio away under a turn that can no longer be finished.
      return facts.hidden ? { kind: 'end-turn' } : { kind: 'none' };
    case 'visible':
    case 'audio-back':
      // Never restart audio from here: visibilitychange is not a gesture (iOS refuses it); Tap to resume does.
      return { kind: 'none' };
    default: {
      const never: never = event;
      return never;
    }
  }
}

/** One short line for the settings screen: what this platform does with the screen off. */
export function lifecycleHelp(platform: LifecyclePlatform): string {
  return platform === 'suspends-when-hidden'
    ? 'On iPhone and iPad the browser pauses the microphone and sound when the screen locks or you switch apps: your unfinished sentence is dropped, and one tap on “Tap to resume” goes on when you are back.'
    : 'On this device the conversation keeps going with the screen off or in another app, like a call, unless you choose “Stop when the screen locks”.';
}

/** What headset buttons do, for the same screen (browsers deliver them only while the app plays sound). */
export const HEADSET_HELP = 'Headset buttons: play/pause mutes and unmutes, next track (a long press on many headsets) interrupts the assistant, stop or hang up ends the conversation — where the browser passes them on.';
