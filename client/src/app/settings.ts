// User settings, stored locally. Engine settings plus app-only ones (theme).
import type { EngineSettings } from '../session/engine-api.ts';

export type Theme = 'system' | 'light' | 'dark';

export interface AppSettings extends EngineSettings {
  theme: Theme;
  /** "Stop when the screen locks": end the conversation when the page is hidden (lifecycle.ts). */
  stopWhenHidden: boolean;
  /** "Keep the screen on": hold a screen wake lock while a conversation runs (phone.ts). */
  keepScreenOn: boolean;
}

export const DEFAULT_SETTINGS: AppSettings = {
  mode: 'hands-free',
  echoCancellation: true,
  noiseSuppression: true,
  autoGainControl: true,
  farField: false,
  theme: 'system',
  // Both off: a conversation goes on with the screen off like a call, and the screen sleeps as usual.
  stopWhenHidden: false,
  keepScreenOn: false,
};

const KEY = 'earshot.settings';

export function loadSettings(storage: Pick<Storage, 'getItem'>): AppSettings {
  try {
    const raw = storage.getItem(KEY);
    if (!raw) return { ...DEFAULT_SETTINGS };
    const parsed = JSON.parse(raw) as Partial<AppSettings>;
    const merged = { ...DEFAULT_SETTINGS, ...parsed };
    // Never trust stored shapes blindly: fall back field by field.
    if (merged.mode !== 'hands-free' && merged.mode !== 'hold-to-talk') merged.mode = DEFAULT_SETTINGS.mode;
    if (!['system', 'light', 'dark'].includes(merged.theme)) merged.theme = DEFAULT_SETTINGS.theme;
    for (const k of ['echoCancellation', 'noiseSuppression', 'autoGainControl', 'farField', 'stopWhenHidden', 'keepScreenOn'] as const) {
      if (typeof merged[k] !== 'boolean') merged[k] = DEFAULT_SETTINGS[k];
    }
    return merged;
  } catch {
    return { ...DEFAULT_SETTINGS };
  }
}

export function saveSettings(storage: Pick<Storage, 'setItem'>, settings: AppSettings): void {
  storage.setItem(KEY, JSON.stringify(settings));
}

/** The fields a policy lets the client change, as the settings screen shows them. */
export function editable(mutableFields: readonly string[]): { voice: boolean; instructions: boolean } {
  return { voice: mutableFields.includes('audio.output.voice'), instructions: mutableFields.includes('instructions') };
}
