// Settings, stored locally: voice and instructions only where the relay's policy allows them, microphone,
// audio processing, conversation mode, theme.
import { createResource, For, Show } from 'solid-js';
import type { ClientPolicyView } from '../../../protocol/relay-http.ts';
import { editable, type AppSettings } from '../app/settings.ts';
import { detectLifecyclePlatform, HEADSET_HELP, lifecycleHelp } from '../app/lifecycle.ts';

async function microphones(): Promise<MediaDeviceInfo[]> {
  if (!navigator.mediaDevices?.enumerateDevices) return [];
  const devices = await navigator.mediaDevices.enumerateDevices();
  return devices.filter((d) => d.kind === 'audioinput');
}

/** `voiceLocked`: a conversation is running, so a new voice applies from the next one (see engine voice policy). */
export function Settings(props: { settings: AppSettings; policy: ClientPolicyView; user: string; voiceLocked?: boolean; onChange(next: AppSettings): void; onClose(): void; onSignOut(): void }) {
  const [mics] = createResource(microphones);
  const can = () => editable(props.policy.mutableFields);
  const set = <K extends keyof AppSettings>(key: K, value: AppSettings[K]) => props.onChange({ ...props.settings, [key]: value });
  const toggle = (key: 'echoCancellation' | 'noiseSuppression' | 'autoGainControl' | 'farField' | 'stopWhenHidden' | 'keepScreenOn', label: string) => (
    <label class="check">
      <input type="checkbox" checked={props.settings[key]} onChange={(e) => set(key, e.currentTarget.checked)} /> {label}
    </label>
  );
  return (
    <section class="settings" role="dialog" aria-label="Settings">
      <header class="bar">
        <h2>Settings</h2>
        <button type="button" class="icon" aria-label="Close settings" onClick={() => props.onClose()}>
          ✕
        </button>
      </header>

      <fieldset>
        <legend>Conversation</legend>
        <label class="check">
          <input type="radio" name="mode" checked={props.settings.mode === 'hands-free'} onChange={() => set('mode', 'hands-free')} /> Hands-free (it hears when you stop)
        </label>
        <label class="check">
          <input type="radio" name="mode" checked={props.settings.mode === 'hold-to-talk'} onChange={() => set('mode', 'hold-to-talk')} /> Hold to talk
        </label>
      </fieldset>

      <fieldset>
        <legend>Assistant</legend>
        <Show when={can().voice} fallback={<p class="muted">Voice: {props.policy.voice} (set by your operator)</p>}>
          <label>
            Voice
            <select value={props.settings.voice ?? props.policy.voice} onChange={(e) => set('voice', e.currentTarget.value)}>
              <For each={props.policy.voices}>{(v) => <option value={v}>{v}</option>}</For>
            </select>
          </label>
          <Show when={props.voiceLocked}>
            <p class="muted small-note">Once the assistant has spoken, a new voice applies from your next conversation.</p>
          </Show>
        </Show>
        <Show when={can().instructions} fallback={<p class="muted">Instructions are set by your operator.</p>}>
          <label>
            Instructions
            <textarea rows="3" value={props.settings.instructions ?? props.policy.instructions} onChange={(e) => set('instructions', e.currentTarget.value)} />
          </label>
        </Show>
      </fieldset>

      <fieldset>
        <legend>Microphone</legend>
        <label>
          Input
          <select value={props.settings.deviceId ?? ''} onChange={(e) => set('deviceId', e.currentTarget.value || undefined)}>
            <option value="">Default microphone</option>
            <For each={mics() ?? []}>{(m, i) => <option value={m.deviceId}>{m.label || `Microphone ${i() + 1}`}</option>}</For>
          </select>
        </label>
        {toggle('echoCancellation', 'Echo cancellation')}
        {toggle('noiseSuppression', 'Noise suppression')}
        {toggle('autoGainControl', 'Automatic gain')}
        {toggle('farField', 'Speakerphone mode (far-field noise reduction)')}
      </fieldset>

      <fieldset>
        <legend>Screen off</legend>
        {toggle('stopWhenHidden', 'Stop when the screen locks')}
        {toggle('keepScreenOn', 'Keep the screen on while talking')}
        <p class="muted small-note">{lifecycleHelp(detectLifecyclePlatform(navigator.userAgent, navigator.maxTouchPoints ?? 0))}</p>
        <p class="muted small-note">{HEADSET_HELP}</p>
      </fieldset>

      <fieldset>
        <legend>Theme</legend>
        <select aria-label="Theme" value={props.settings.theme} onChange={(e) => set('theme', e.currentTarget.value as AppSettings['theme'])}>
          <option value="system">Follow the system</option>
          <option value="light">Light</option>
          <option value="dark">Dark</option>
        </select>
      </fieldset>

      <p class="muted">
        {typeof RTCPeerConnection === 'function'
          ? 'This browser routes the answer through its echo canceller (speakerphone-safe).'
          : 'This browser has no WebRTC, so the answer plays directly: use headphones to keep the assistant from hearing itself.'}
      </p>
      <p class="muted">Signed in as {props.user}.</p>
      <button type="button" class="secondary" onClick={() => props.onSignOut()}>
        Forget this token
      </button>
    </section>
  );
}
