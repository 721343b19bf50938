// The limits form, for adding a person and for changing one. Blank limit fields mean "no limit".
import { createSignal, For, type JSX } from 'solid-js';
import type { Person, PersonPatch } from '../../../../protocol/admin-api.ts';

export interface PersonFormProps {
  /** Absent: adding (the name field is shown). */
  person?: Person;
  voices: string[];
  submitLabel: string;
  onSubmit(id: string, patch: PersonPatch): Promise<void>;
  onCancel?: () => void;
}

const LIMITS = [
  ['dailyMinutes', 'Minutes per day'],
  ['monthlyMinutes', 'Minutes per month'],
  ['dailyTokens', 'Tokens per day'],
  ['monthlyTokens', 'Tokens per month'],
] as const;

export function PersonForm(props: PersonFormProps): JSX.Element {
  const p = props.person;
  const prefix = p ? `edit-${p.id}` : 'add';
  const [busy, setBusy] = createSignal(false);
  let form!: HTMLFormElement;

  const submit = async (e: SubmitEvent) => {
    e.preventDefault();
    const data = new FormData(form);
    const num = (name: string): number | null => {
      const v = String(data.get(name) ?? '').trim();
      return v === '' ? null : Number(v);
    };
    const patch: PersonPatch = {
      maxSessions: Number(data.get('maxSessions') ?? 2),
      dailyMinutes: num('dailyMinutes'),
      monthlyMinutes: num('monthlyMinutes'),
      dailyTokens: num('dailyTokens'),
      monthlyTokens: num('monthlyTokens'),
      voice: String(data.get('voice') ?? ''),
      instructions: String(data.get('instructions') ?? ''),
      admin: data.get('admin') === 'on',
    };
    setBusy(true);
    try {
      await props.onSubmit(p?.id ?? String(data.get('id') ?? '').trim(), patch);
      if (!p) form.reset();
    } finally {
      setBusy(false);
    }
  };

  return (
    <form ref={form} class="person-form" onSubmit={(e) => void submit(e)} aria-label={p ? `Limits of ${p.id}` : 'Add a person'}>
      {!p && (
        <div class="field wide">
          <label for={`${prefix}-id`}>Name</label>
          <input id={`${prefix}-id`} name="id" required pattern="[A-Za-z0-9_.@\-]{1,64}" autocomplete="off" aria-describedby={`${prefix}-id-help`} />
          <small id={`${prefix}-id-help`}>Letters, digits, _ . @ - (up to 64)</small>
        </div>
      )}
      <div class="field">
        <label for={`${prefix}-maxSessions`}>Conversations at once</label>
        <input id={`${prefix}-maxSessions`} name="maxSessions" type="number" min="0" max="1000" step="1" required value={p?.maxSessions ?? 2} />
      </div>
      <For each={LIMITS}>
        {([key, label]) => (
          <div class="field">
            <label for={`${prefix}-${key}`}>{label}</label>
            <input
              id={`${prefix}-${key}`}
              name={key}
              type="number"
              min="0"
              step={key.endsWith('Tokens') ? '1' : 'any'}
              placeholder="no limit"
              value={p?.[key] ?? ''}
            />
          </div>
        )}
      </For>
      <div class="field">
        <label for={`${prefix}-voice`}>Voice</label>
        <select id={`${prefix}-voice`} name="voice">
          <option value="" selected={!p?.voice}>
            Server default
          </option>
          <For each={props.voices}>
            {(v) => (
              <option value={v} selected={p?.voice === v}>
                {v}
              </option>
            )}
          </For>
        </select>
      </div>
      <div class="field wide">
        <label for={`${prefix}-instructions`}>Instructions</label>
        <textarea id={`${prefix}-instructions`} name="instructions" rows="2" maxlength="8000" placeholder="Server default">
          {p?.instructions ?? ''}
        </textarea>
      </div>
      <div class="field check">
        <input id={`${prefix}-admin`} name="admin" type="checkbox" checked={p?.admin ?? false} />
        <label for={`${prefix}-admin`}>Operator (may use this console)</label>
      </div>
      <div class="actions wide">
        <button type="submit" class="primary" disabled={busy()}>
          {props.submitLabel}
        </button>
        {props.onCancel && (
          <button type="button" onClick={() => props.onCancel?.()}>
            Cancel
          </button>
        )}
      </div>
    </form>
  );
}
