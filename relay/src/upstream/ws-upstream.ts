// The network upstream: one `ws` client per session toward the provider (or anything that speaks its GA
// protocol: Azure, a standalone simulator). No `OpenAI-Beta` header — the beta protocol is switched off.
import WebSocket from 'ws';
import { ConnectRefusalGate } from './connect-refusal.ts';
import type { Frame, UpstreamFactory, UpstreamFailure, UpstreamOpenOptions } from './upstream.ts';

export interface WsUpstreamOptions {
  url: string;
  apiKey?: string;
  /** `authorization` → `Authorization: Bearer <key>` (OpenAI); `api-key` → `api-key: <key>` (Azure). */
  authHeader: 'authorization' | 'api-key';
  connectTimeoutMs: number;
  /** More upgrade headers, for gateways that want them (e.g. `OpenAI-Project`). */
  extraHeaders?: Record<string, string>;
  /** Largest server frame accepted; provider frames are small, so this only guards against a broken peer. */
  maxPayload?: number;
}

export function upstreamUrlFor(base: string, open: Pick<UpstreamOpenOptions, 'model' | 'intent'>): string {
  const url = new URL(base);
  // A transcription session is named by its intent; the provider wants no conversation model for it.
  if (open.intent === 'transcription') url.searchParams.set('intent', 'transcription');
  else if (!url.searchParams.has('model')) url.searchParams.set('model', open.model);
  return url.toString();
}

/** One options object for every send: the hot path allocates none per frame (ws copies it into its own). */
const TEXT_FRAME = Object.freeze({ binary: false });

export function createWsUpstreamFactory(options: WsUpstreamOptions): UpstreamFactory {
  return (open, handlers) => {
    const headers: Record<string, string> = { ...options.extraHeaders };
    if (options.apiKey) {
      if (options.authHeader === 'api-key') headers['api-key'] = options.apiKey;
      else headers.authorization = `Bearer ${options.apiKey}`;
    }
    let finished = false;
    let opened = false;
    const queue: Frame[] = [];
    let failure: UpstreamFailure | undefined;
    const gate = new ConnectRefusalGate();

    const finish = (code: number, reason: string): void => {
      if (finished) return;
      finished = true;
      handlers.onClose(code, reason, failure);
    };

    let socket: WebSocket;
    try {
      socket = new WebSocket(upstreamUrlFor(options.url, open), {
        headers,
        perMessageDeflate: false,
        // The provider is trusted and frames go on to clients verbatim (browsers validate UTF-8 themselves):
        // validating here too only costs CPU on the hottest path.
        skipUTF8Validation: true,
        handshakeTimeout: options.connectTimeoutMs,
        maxPayload: options.maxPayload ?? 32 * 1024 * 1024,
      });
    } catch (err) {
      failure = { kind: 'unreachable', message: (err as Error).message };
      setImmediate(() => finish(1011, 'upstream unreachable'));
      return { send() {}, bufferedAmount: () => 0, pause() {}, resume() {}, close() {} };
    }

    socket.on('open', () => {
      opened = true;
      for (const frame of queue.splice(0)) socket.send(frame, TEXT_FRAME);
      handlers.onOpen();
    });
    socket.on('message', (data, isBinary) => {
      if (finished || isBinary) return;
      // HOT PATH once started: no array per frame.
      if (gate.passing) handlers.onMessage(data as Buffer);
      else for (const frame of gate.accept(data as Buffer)) handlers.onMessage(frame);
    });
    socket.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => {
        if (body.length < 4096) body += chunk.toString();
      });
      res.on('end', () => {
        let message = `upstream refused the connection with HTTP ${res.statusCode}`;
        try {
          const parsed = JSON.parse(body) as { error?: { message?: string } };
          if (parsed.error?.message) message = parsed.error.message;
        } catch {
          // non-JSON body: keep the status line
        }
        failure = { kind: 'rejected', status: res.statusCode ?? 0, message };
        socket.terminate();
        finish(1011, 'upstream rejected');
      });
    });
    socket.on('error', (err) => {
      failure ??= opened ? { kind: 'dropped', code: 1006, message: err.message } : { kind: 'unreachable', message: err.message };
    });
    socket.on('close', (code, reason) => {
      const refused = opened ? gate.refusal(code, reason.toString()) : null;
      if (refused) failure = refused;
      else if (!finished) for (const frame of gate.flush()) handlers.onMessage(frame);
      if (!opened) failure ??= { kind: 'unreachable', message: 'connection closed before the upgrade completed' };
      else if (code !== 1000 && code !== 1001 && !failure) failure = { kind: 'dropped', code, message: reason.toString() || `closed with ${code}` };
      finish(code, reason.toString());
    });

    return {
      send(frame) {
        if (finished) return;
        if (!opened) queue.push(frame);
        else socket.send(frame, TEXT_FRAME);
      },
      bufferedAmount: () => socket.bufferedAmount,
      pause() {
        if (opened && !finished) socket.pause();
      },
      resume() {
        if (opened && !finished) socket.resume();
      },
      close(code = 1000, reason = '') {
        if (finished) return;
        if (socket.readyState === WebSocket.OPEN) socket.close(code, reason);
        else socket.terminate();
        finish(code, reason);
      },
    };
  };
}
