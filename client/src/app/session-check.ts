// Asks the relay whether a token is good before opening a socket: browsers cannot read a refused upgrade's
// status, so this is how the app can say "expired", "revoked" or "over quota" instead of "failed".
import type { RejectBody, SessionCheckBody } from '../../../protocol/relay-http.ts';
import { rejectSentence } from './sentences.ts';

export type CheckResult =
  | { kind: 'ok'; body: SessionCheckBody }
  | { kind: 'rejected'; status: number; code: string; message: string; renewsAt?: number }
  | { kind: 'unreachable'; message: string };

export async function checkToken(relayUrl: string, token: string, fetchImpl: typeof fetch = fetch): Promise<CheckResult> {
  let res: Response;
  try {
    res = await fetchImpl(`${relayUrl.replace(/\/+$/, '')}/api/session-check`, { headers: { authorization: `Bearer ${token}` }, cache: 'no-store' });
  } catch {
    return { kind: 'unreachable', message: 'The Earshot server cannot be reached. Check your connection; the app will keep trying.' };
  }
  if (res.ok) return { kind: 'ok', body: (await res.json()) as SessionCheckBody };
  try {
    const body = (await res.json()) as RejectBody;
    const code = body.error.code;
    const renewsAt = typeof body.error.renewsAt === 'number' ? body.error.renewsAt : undefined;
    return { kind: 'rejected', status: res.status, code, message: rejectSentence(code, body.error.message), ...(renewsAt !== undefined ? { renewsAt } : {}) };
  } catch {
    return { kind: 'unreachable', message: `The Earshot server answered with an error (${res.status}). Try again in a moment.` };
  }
}
