// The simulator as an Upstream living in the relay's own process: the default backend when no API key is set.
// Events are handed over asynchronously (never re-entrantly from send()), and pause() really holds them,
// so the relay's backpressure logic behaves exactly as with a network upstream.
import { ConnectRefusalGate } from '../upstream/connect-refusal.ts';
import type { Frame, UpstreamFactory, UpstreamFailure } from '../upstream/upstream.ts';
import { SimulatorSession, type SimulatorOptions } from './engine.ts';

export type { SimulatorOptions } from './engine.ts';

const decoder = new TextDecoder();

export function createSimulatorUpstreamFactory(options: SimulatorOptions = {}): UpstreamFactory {
  return (open, handlers) => {
    let state: 'opening' | 'open' | 'closed' = 'opening';
    let paused = false;
    let held: string[] = [];
    let pendingClose: { code: number; reason: string; failure?: UpstreamFailure } | null = null;
    const inbox: string[] = [];
    let draining = false;
    // The same refusal handling as a network upstream, so a bad model fails alike on either backend.
    const gate = new ConnectRefusalGate();

    const finish = (code: number, reason: string, failure?: UpstreamFailure): void => {
      if (state === 'closed') return;
      state = 'closed';
      session.dispose();
      held = [];
      handlers.onClose(code, reason, failure);
    };

    const deliver = (text: string): void => {
      if (paused) held.push(text);
      else handlers.onMessage(text);
    };

    const session = new SimulatorSession(
      options,
      {
        send(text) {
          if (state === 'closed') return;
          for (const frame of gate.accept(text)) deliver(frame as string);
        },
        close(code, reason) {
          const failure = gate.refusal(code, reason) ?? undefined;
          if (!failure) for (const frame of gate.flush()) deliver(frame as string);
          if (paused && held.length > 0) pendingClose = { code, reason, ...(failure ? { failure } : {}) };
          else finish(code, reason, failure);
        },
      },
      { model: open.model, intent: open.intent ?? null },
    );

    const drainInbox = (): void => {
      draining = false;
      try {
        while (inbox.length > 0 && state === 'open') session.receive(inbox.shift()!);
      } catch (err) {
        // This runs in a microtask: a throw here would end the relay's process. End this session instead.
        finish(1011, `simulator error: ${String(err).slice(0, 80)}`);
      }
    };

    setImmediate(() => {
      if (state !== 'opening') return;
      state = 'open';
      handlers.onOpen();
      session.start();
      drainInbox();
    });

    return {
      send(frame: Frame) {
        if (state === 'closed') return;
        inbox.push(typeof frame === 'string' ? frame : decoder.decode(frame));
        if (state === 'open' && !draining) {
          draining = true;
          queueMicrotask(drainInbox);
        }
      },
      bufferedAmount: () => 0,
      pause() {
        paused = true;
      },
      resume() {
        if (!paused) return;
        paused = false;
        const queued = held;
        held = [];
        for (const text of queued) {
          if (state === 'closed') return;
          if (paused) {
            held.push(text);
            continue;
          }
          handlers.onMessage(text);
        }
        if (pendingClose && !paused) finish(pendingClose.code, pendingClose.reason, pendingClose.failure);
      },
      close(code = 1000, reason = '') {
        finish(code, reason);
      },
    };
  };
}
