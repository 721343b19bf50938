import { describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS, editable, loadSettings, saveSettings } from './settings.ts';
import { detectBrowser, micHelp } from './mic-help.ts';

function memory() {
  const map = new Map<string, string>();
  return { getItem: (k: string) => map.get(k) ?? null, setItem: (k: string, v: string) => void map.set(k, v) };
}

describe('settings', () => {
  it('round-trips and falls back field by field on damaged storage', () => {
    const s = memory();
    expect(loadSettings(s)).toEqual(DEFAULT_SETTINGS);
    saveSettings(s, { ...DEFAULT_SETTINGS, mode: 'hold-to-talk', theme: 'dark', voice: 'cedar' });
    expect(loadSettings(s)).toMatchObject({ mode: 'hold-to-talk', theme: 'dark', voice: 'cedar' });
    s.setItem('earshot.settings', JSON.stringify({ mode: 'shout', theme: 7, echoCancellation: 'yes' }));
    expect(loadSettings(s)).toMatchObject({ mode: 'hands-free', theme: 'system', echoCancellation: true });
    s.setItem('earshot.settings', JSON.stringify({ stopWhenHidden: 'on', keepScreenOn: 1 }));
    expect(loadSettings(s)).toMatchObject({ stopWhenHidden: false, keepScreenOn: false });
    s.setItem('earshot.settings', '{not json');
    expect(loadSettings(s)).toEqual(DEFAULT_SETTINGS);
  });

  it('keeps talking with the screen off and lets the screen sleep unless the person asks otherwise', () => {
    expect(DEFAULT_SETTINGS).toMatchObject({ stopWhenHidden: false, keepScreenOn: false });
    expect(loadSettings(memory())).toMatchObject({ stopWhenHidden: false, keepScreenOn: false });
  });

  it('offers voice and instructions only when the policy makes them mutable', () => {
    expect(editable(['audio.output.voice'])).toEqual({ voice: true, instructions: false });
    expect(editable(['instructions'])).toEqual({ voice: false, instructions: true });
  });
});

describe('mic help', () => {
  it('gives instructions for the browser in use', () => {
    expect(detectBrowser('Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Version/17.0 Mobile/15E148 Safari/604.1')).toBe('ios-safari');
    expect(detectBrowser('Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/126.0 Mobile Safari/537.36')).toBe('android-chrome');
    expect(detectBrowser('Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0')).toBe('firefox');
    expect(micHelp('ios-safari').join(' ')).toMatch(/Settings app/);
    expect(micHelp('android-chrome').join(' ')).toMatch(/Site settings/);
  });
});
