// Past conversations, kept on this device (history-store.ts): a list with date and length, each openable and
// deletable, and "Delete all" behind a second tap. Nothing here leaves the device.
import { createResource, createSignal, For, Show } from 'solid-js';
import { describeConversation, type HistoryStore, type StoredConversation } from '../history/history-store.ts';

export function HistoryPanel(props: { history: HistoryStore; currentId: string | null; onClose(): void; onChanged(): void }) {
  const [list, { refetch }] = createResource(() => props.history.list());
  const [open, setOpen] = createSignal<StoredConversation | null>(null);
  const [confirmAll, setConfirmAll] = createSignal(false);

  const remove = async (id: string) => {
    await props.history.remove(id);
    if (open()?.id === id) setOpen(null);
    await refetch();
    props.onChanged();
  };
  const removeAll = async () => {
    if (!confirmAll()) return setConfirmAll(true);
    await props.history.clear();
    setConfirmAll(false);
    setOpen(null);
    await refetch();
    props.onChanged();
  };

  return (
    <section class="sheet" role="dialog" aria-label="History">
      <header class="bar">
        <Show when={open()} fallback={<h2>History</h2>}>
          <button type="button" class="icon" aria-label="Back to the list" onClick={() => setOpen(null)}>
            ‹
          </button>
          <h2>{describeConversation({ ...open()!, lineCount: open()!.lines.length })}</h2>
        </Show>
        <button type="button" class="icon" aria-label="Close history" onClick={() => props.onClose()}>
          ✕
        </button>
      </header>
      <p class="muted sheet-note">Kept only on this device. Nothing here is sent anywhere.</p>
      <Show
        when={open()}
        fallback={
          <>
            <Show when={(list() ?? []).length > 0} fallback={<p class="muted sheet-note">No conversations yet.</p>}>
              <ul class="history-list" aria-label="Past conversations">
                <For each={list() ?? []}>
                  {(c) => {
                    // Two lines (when; how long) instead of one sentence wrapped into four on a phone.
                    const [when, ...length] = describeConversation(c).split(' · ');
                    return (
                      <li>
                        <button type="button" class="history-open" aria-label={`Open conversation of ${describeConversation(c)}`} onClick={() => void props.history.get(c.id).then(setOpen)}>
                          <span class="history-when">
                            {when}
                            {c.id === props.currentId ? <span class="badge">current</span> : null}
                          </span>
                          <span class="history-length">{length.join(' · ')}</span>
                        </button>
                        <button type="button" class="secondary small delete" aria-label={`Delete conversation of ${describeConversation(c)}`} onClick={() => void remove(c.id)}>
                          Delete
                        </button>
                      </li>
                    );
                  }}
                </For>
              </ul>
              <button type="button" class={confirmAll() ? 'danger' : 'secondary'} onClick={() => void removeAll()}>
                {confirmAll() ? 'Tap again to delete every conversation' : 'Delete all conversations'}
              </button>
            </Show>
          </>
        }
      >
        <div class="transcript in-sheet" role="log" aria-label="Past conversation">
          <For each={open()!.lines}>
            {(line) => (
              <p class={`line ${line.role}`} data-role={line.role}>
                <span class="who">{line.role === 'user' ? 'You' : 'Assistant'}</span> {line.text}
                {line.interrupted ? <span class="cut">interrupted</span> : null}
              </p>
            )}
          </For>
        </div>
        <button type="button" class="secondary" onClick={() => void remove(open()!.id)}>
          Delete this conversation
        </button>
      </Show>
    </section>
  );
}
