// Small pieces every page uses: an error/notice line read out by screen readers, number and time formats.
import { Show, type JSX } from 'solid-js';
import { ApiError } from '../api.ts';

export function Notice(props: { error: string; ok?: string }): JSX.Element {
  return (
    <>
      <div role="alert" class="error" hidden={!props.error}>
        {props.error}
      </div>
      <Show when={props.ok}>
        <div role="status" class="ok">
          {props.ok}
        </div>
      </Show>
    </>
  );
}

export const messageOf = (err: unknown): string => (err instanceof ApiError ? err.message : err instanceof Error ? err.message : String(err));

export const limit = (n: number | null, unit = ''): string => (n === null ? 'no limit' : `${n.toLocaleString('en')}${unit}`);

export const when = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').slice(0, 16) + ' UTC';

export const minutes = (n: number): string => n.toFixed(1);
