// The client side of a relay session, as the bridge sees it. For `/v1/realtime` it is the uWS socket itself
// (one indirect call per frame: the verbatim path stays as it was); for `earshot.v2` it is the app link
// (relay/src/app-link/app-link.ts), which numbers, transcodes and buffers what it sends, and may outlive a socket.
import type uWS from 'uWebSockets.js';
import type { Frame } from '../upstream/upstream.ts';

export interface ClientSide {
  /**
   * A frame for the client: a provider frame (with its peeked `type`, 'unknown' if none) or a relay event. False
   * when the frame left with nothing queued behind it, so the caller need not ask bufferedAmount() (a native call
   * on every server frame otherwise); true when bytes may be waiting.
   */
  send(frame: Frame, type: string): boolean;
  /** Bytes queued toward the client (backpressure). */
  bufferedAmount(): number;
  /** Ends the client side for good. Called once, by the session; the session MUST NOT send afterwards. */
  end(code: number, reason: string): void;
}

/** The verbatim path. Lifetime (uWS): the session stops calling this when the socket's close handler ran. */
export function uwsClientSide<T>(ws: uWS.WebSocket<T>): ClientSide {
  // HOT PATH: one corked send per server frame. The cork callback is made once per session, not per frame; it
  // reads the frame from `pending`, which holds it only for the duration of the cork call.
  let pending: Frame = '';
  let status = 1;
  const corked = (): void => {
    status = ws.send(pending, false);
  };
  return {
    send(frame) {
      pending = frame;
      ws.cork(corked);
      pending = '';
      // uWS: 1 = sent with nothing buffered; 0 = backpressure built up; 2 = dropped at maxBackpressure. Inside a
      // cork the status reflects what was buffered before this frame's flush, so a backlog is seen one frame
      // late at most — backpressure is a matter of many frames, and the limits have that slack.
      return status !== 1;
    },
    bufferedAmount: () => ws.getBufferedAmount(),
    end(code, reason) {
      ws.end(code, reason);
    },
  };
}
