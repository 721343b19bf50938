// Finds the user's token in an upgrade request: `Authorization: Bearer` (SDKs, servers) or a subprotocol
// (browsers cannot set headers on a WebSocket). Decides which single offered subprotocol to echo — never the token.
import {
  OPENAI_KEY_SUBPROTOCOL_PREFIX,
  OPENAI_SUBPROTOCOL,
  SUBPROTOCOL,
  TOKEN_SUBPROTOCOL_PREFIX,
} from '../../../protocol/relay-http.ts';

export type Credentials =
  | { ok: true; token: string; echoProtocol: string | undefined }
  | { ok: false; reason: 'token_missing' | 'token_malformed' };

const MAX_HEADER = 8192;
const MAX_PROTOCOLS = 16;

export function extractCredentials(request: { authorization?: string; protocols?: string }): Credentials {
  const authorization = request.authorization ?? '';
  const rawProtocols = request.protocols ?? '';
  if (authorization.length > MAX_HEADER || rawProtocols.length > MAX_HEADER) return { ok: false, reason: 'token_malformed' };
  const offered = rawProtocols
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
  if (offered.length > MAX_PROTOCOLS) return { ok: false, reason: 'token_malformed' };

  let fromProtocol: string | undefined;
  let echo: string | undefined;
  for (const p of offered) {
    if (p.startsWith(TOKEN_SUBPROTOCOL_PREFIX)) fromProtocol ??= p.slice(TOKEN_SUBPROTOCOL_PREFIX.length);
    else if (p.startsWith(OPENAI_KEY_SUBPROTOCOL_PREFIX)) fromProtocol ??= p.slice(OPENAI_KEY_SUBPROTOCOL_PREFIX.length);
  }
  if (offered.includes(SUBPROTOCOL)) echo = SUBPROTOCOL;
  else if (offered.includes(OPENAI_SUBPROTOCOL)) echo = OPENAI_SUBPROTOCOL;

  const bearer = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization);
  if (authorization.trim().length > 0 && !bearer) return { ok: false, reason: 'token_malformed' };
  const token = bearer?.[1] ?? fromProtocol;
  if (token === undefined) return { ok: false, reason: 'token_missing' };
  if (token.length === 0) return { ok: false, reason: 'token_malformed' };
  return { ok: true, token, echoProtocol: echo };
}
