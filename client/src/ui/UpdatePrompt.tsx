// "New version available — Reload": the service worker waits until the person chooses to update.
import { Show } from 'solid-js';
import type { Accessor } from 'solid-js';

export interface UpdateSignal {
  needRefresh: Accessor<boolean>;
  offlineReady: Accessor<boolean>;
  reload(): void;
  dismiss(): void;
}

export function UpdatePrompt(props: { update: UpdateSignal }) {
  return (
    <Show when={props.update.needRefresh()}>
      <div class="toast" role="alert">
        <span>New version available.</span>
        <button type="button" class="primary small" onClick={() => props.update.reload()}>
          Reload
        </button>
        <button type="button" class="secondary small" aria-label="Dismiss update notice" onClick={() => props.update.dismiss()}>
          Later
        </button>
      </div>
    </Show>
  );
}
