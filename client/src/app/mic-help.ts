// Instructions for allowing the microphone, for the browser the person is actually using.
import { isIPadOS } from './ios-audio.ts';

export type BrowserKind = 'ios-safari' | 'safari' | 'android-chrome' | 'chrome' | 'firefox' | 'edge' | 'other';

/** `maxTouchPoints` tells an iPad (which reports a Mac user agent) from a Mac. */
export function detectBrowser(userAgent: string, maxTouchPoints = 0): BrowserKind {
  const ua = userAgent;
  if (/iPhone|iPad|iPod/.test(ua) || isIPadOS(ua, maxTouchPoints)) return 'ios-safari';
  if (/Edg\//.test(ua)) return 'edge';
  if (/Firefox\//.test(ua)) return 'firefox';
  if (/Android/.test(ua) && /Chrome\//.test(ua)) return 'android-chrome';
  if (/Chrome\/|Chromium\//.test(ua)) return 'chrome';
  if (/Safari\//.test(ua)) return 'safari';
  return 'other';
}

export function micHelp(kind: BrowserKind): string[] {
  switch (kind) {
    case 'ios-safari':
      return ['Open the Settings app, scroll to Safari (or to Earshot if you installed it), tap Microphone and choose Allow.', 'Come back and tap Start again.'];
    case 'safari':
      return ['In the Safari menu choose Settings for This Website…, set Microphone to Allow.', 'Then tap Start again.'];
    case 'android-chrome':
      return ['Tap the icon left of the address (or ⋮ → Settings → Site settings → Microphone) and allow the microphone for this site.', 'If it is blocked for Chrome itself: Android Settings → Apps → Chrome → Permissions → Microphone → Allow.', 'Then tap Start again.'];
    case 'chrome':
    case 'edge':
      return ['Click the icon at the left of the address bar, set Microphone to Allow, and reload the page.'];
    case 'firefox':
      return ['Click the microphone icon in the address bar, remove the block, and tap Start again; Firefox will ask once more.'];
    case 'other':
      return ["Allow this site to use the microphone in your browser's site settings, then tap Start again."];
  }
}
