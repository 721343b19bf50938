// iOS/iPadOS specifics of the audio lifecycle (main thread). Pure where it can be: pass navigator in.

/** The Audio Session API (Safari 16.4+): a page declares what kind of audio it plays. */
interface AudioSessionNavigator {
  audioSession?: { type: string };
}

/**
 * 'play-and-record': a call-like session, so starting the microphone does not move Web Audio output to the
 * earpiece. Set before getUserMedia; a no-op where the API does not exist (every engine but WebKit's).
 */
export function setAudioSessionType(nav: Navigator | AudioSessionNavigator, type: 'play-and-record' | 'auto'): boolean {
  const session = (nav as AudioSessionNavigator).audioSession;
  if (!session) return false;
  try {
    session.type = type;
    return true;
  } catch {
    return false;
  }
}

/** iPadOS reports a Mac user agent ("desktop-class browsing"); a Mac has no touch points, an iPad has five. */
export function isIPadOS(userAgent: string, maxTouchPoints: number): boolean {
  return /Macintosh/.test(userAgent) && !/iPhone|iPad|iPod/.test(userAgent) && maxTouchPoints > 1;
}
