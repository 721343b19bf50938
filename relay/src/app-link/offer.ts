// What an upgrade offers for the app link: `earshot.v2`, and on reconnect `earshot-resume.<token>.<received>`
// (protocol/app-link.ts). Read in the uWS upgrade handler, before authentication.
import { APP_SUBPROTOCOL, RESUME_SUBPROTOCOL_PREFIX } from '../../../protocol/app-link.ts';

export interface ResumeOffer {
  token: string;
  /** Relay messages the client has received; NaN when the offer is malformed (the resume then fails as unknown). */
  received: number;
}

/** null: not an app link (the verbatim path). */
export function appLinkOffer(protocolsHeader: string): { resume: ResumeOffer | null } | null {
  if (protocolsHeader.length > 8192) return null;
  const offered = protocolsHeader.split(',').map((p) => p.trim());
  if (!offered.includes(APP_SUBPROTOCOL)) return null;
  const raw = offered.find((p) => p.startsWith(RESUME_SUBPROTOCOL_PREFIX));
  if (raw === undefined) return { resume: null };
  const rest = raw.slice(RESUME_SUBPROTOCOL_PREFIX.length);
  const dot = rest.lastIndexOf('.');
  const count = dot > 0 ? rest.slice(dot + 1) : '';
  return { resume: { token: dot > 0 ? rest.slice(0, dot) : rest, received: /^\d{1,10}$/.test(count) ? Number(count) : Number.NaN } };
}
