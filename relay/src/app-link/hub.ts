// Where app links start (event loop): a new socket on `earshot.v2` either resumes a live link (same user,
// valid single-use token, a count the replay buffer can serve) or opens a fresh session, saying why a resume
// it asked for did not happen. Owns the resume registry and the Opus worker pool (started on first use).
import type uWS from 'uWebSockets.js';
import type { RelayConfig } from '../config/config.ts';
import type { Logger } from '../log.ts';
import type { ConnData, RelaySession } from '../session/bridge.ts';
import type { ClientSide } from '../session/client-side.ts';
import { defaultPoolSize, TranscodePool } from '../transcode/pool.ts';
import { AppLink } from './app-link.ts';
import { ResumeRegistry, type ResumeFailure } from './resume-registry.ts';

export interface AppLinkHubDeps {
  config: RelayConfig;
  log: Logger;
  /** Creates and registers a session (not started) whose client side is `client`. */
  createSession(client: ClientSide, data: ConnData): RelaySession;
  /** The upgrade counted a concurrent session for this user; a resume reuses the one it already has. */
  releaseSeat(info: { sessionId: string; userId: string }): void;
}

export class AppLinkHub {
  readonly registry = new ResumeRegistry<AppLink>();
  private poolInstance: TranscodePool | null = null;

  constructor(private readonly deps: AppLinkHubDeps) {}

  get pool(): TranscodePool {
    this.poolInstance ??= new TranscodePool(this.deps.config.appLink.transcodeWorkers || defaultPoolSize(), this.deps.log);
    return this.poolInstance;
  }

  /** uWS open handler for a socket that negotiated `earshot.v2`. */
  open(ws: uWS.WebSocket<ConnData>, data: ConnData): void {
    const offer = data.appLink?.resume ?? null;
    let failed: ResumeFailure | undefined;
    if (offer) {
      const found = this.registry.take(offer.token, data.info.userId);
      if (found.ok) {
        const resumed = found.link.resume(ws, offer.received);
        if (resumed.ok) {
          this.deps.releaseSeat(data.info);
          return;
        }
        failed = resumed.reason;
      } else {
        failed = found.reason;
      }
      this.deps.log.info({ user: data.info.userId, failed }, 'app link: resume refused; fresh session');
    }
    let link: AppLink | null = null;
    const codec = this.pool.open(() => link?.codecLost());
    link = new AppLink(ws, codec, {
      config: this.deps.config.appLink,
      maxFrameBytes: this.deps.config.limits.maxFrameBytes,
      registry: this.registry,
      log: this.deps.log,
    });
    const session = this.deps.createSession(link, data);
    link.startFresh(session, failed);
    session.start();
  }

  async close(): Promise<void> {
    await this.poolInstance?.close();
  }
}
