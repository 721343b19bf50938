// Extension points of a relay session, so accounting and quotas plug in without the bridge knowing them.
import type { RelayErrorCode } from '../../../protocol/relay-errors.ts';
import type { Frame } from '../upstream/upstream.ts';

export interface SessionInfo {
  sessionId: string;
  userId: string;
  tokenId: string;
  startedAt: number;
  /** Directory.mark when the upgrade had read the user and token from the store (absent: any copy counts). */
  directoryMark?: number;
}

export interface SessionControl {
  /** Ends the session: a Realtime-shaped `error` event with `errorCode`/`message`, then close with `code`. */
  terminate(code: number, errorCode: RelayErrorCode, message: string): void;
}

export interface SessionHooks {
  /**
   * Every client frame forwarded upstream. Must be cheap: it runs on the per-frame path. `audioBytes` is the
   * decoded audio of a plain append the gate already measured (absent or -1: not known).
   */
  onClientFrame(type: string, frame: Uint8Array, audioBytes?: number): void;
  /** Every server frame forwarded to the client. */
  onServerFrame(type: string, frame: Frame): void;
  onEnd(): void;
}

export type SessionHooksFactory = (info: SessionInfo, control: SessionControl) => SessionHooks;

export const noHooks: SessionHooksFactory = () => ({ onClientFrame() {}, onServerFrame() {}, onEnd() {} });
