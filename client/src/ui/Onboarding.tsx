// First screen without a (valid) token: what Earshot is, why we need a token, and a paste field.
import { createSignal, Show } from 'solid-js';

export function Onboarding(props: { message: string | null; onToken: (token: string) => void }) {
  const [value, setValue] = createSignal('');
  const submit = (e: Event) => {
    e.preventDefault();
    // Accept a pasted link as well as a bare token.
    const raw = value().trim();
    const fromLink = /#token=([^&\s]+)/.exec(raw)?.[1];
    const token = fromLink ?? raw;
    if (token) props.onToken(token);
  };
  return (
    <main class="center onboarding">
      <h1>Earshot</h1>
      <p class="lede">Talk hands-free with your assistant.</p>
      <Show when={props.message}>
        <p class="error" role="alert">
          {props.message}
        </p>
      </Show>
      <p>Open the link your Earshot operator sent you on this phone, or paste the token or link here.</p>
      <form onSubmit={submit} class="token-form">
        <label for="token-input">Access token or link</label>
        <input
          id="token-input"
          name="token"
          type="text"
          autocomplete="off"
          autocapitalize="off"
          spellcheck={false}
          value={value()}
          onInput={(e) => setValue(e.currentTarget.value)}
          placeholder="eyJ… or https://…/#token=…"
        />
        <button type="submit" class="primary" disabled={value().trim().length === 0}>
          Continue
        </button>
      </form>
    </main>
  );
}
