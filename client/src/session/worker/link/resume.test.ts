import { describe, expect, it } from 'vitest';
import { carryPreamble, countsTowardAck, offeredProtocols, sessionOutcome } from './resume.ts';

describe('resume decisions', () => {
  it('offers earshot.v2 with the token, plus the resume ticket when there is a session to continue, and v1 last as a fallback', () => {
    expect(offeredProtocols('v2', 'tok', null)).toEqual(['earshot.v2', 'earshot-token.tok', 'earshot.v1']);
    expect(offeredProtocols('v2', 'tok', { resumeToken: 'r-_9', received: 42 })).toEqual(['earshot.v2', 'earshot-token.tok', 'earshot-resume.r-_9.42', 'earshot.v1']);
  });

  it('the debugging v1 link offers the verbatim subprotocol and never a resume', () => {
    expect(offeredProtocols('v1', 'tok', { resumeToken: 'r', received: 1 })).toEqual(['earshot.v1', 'earshot-token.tok']);
  });

  it('counts every relay frame toward ack except the heartbeat and the session message that opens a resumed link', () => {
    expect(countsTowardAck({ type: 'earshot.session', resumed: false })).toBe(true);
    expect(countsTowardAck({ type: 'earshot.session', resumed: true })).toBe(false);
    expect(countsTowardAck({ type: 'response.done' })).toBe(true);
    expect(countsTowardAck({ type: 'earshot.ping' })).toBe(false);
    expect(countsTowardAck({ type: 'earshot.pong' })).toBe(false);
  });

  it('goes on with the same session when the relay says resumed', () => {
    expect(sessionOutcome({ resumed: true }, true, null)).toEqual({ kind: 'resumed' });
  });

  it('after a failed resume starts fresh carrying the text, and says the connection dropped — not a time limit', () => {
    const outcome = sessionOutcome({ resumed: false, resume_failed: 'expired' }, true, null);
    expect(outcome).toMatchObject({ kind: 'fresh', carry: 'link_lost' });
    if (outcome.kind !== 'fresh') throw new Error('fresh expected');
    expect(outcome.notice).toMatch(/connection dropped/);
    expect(outcome.notice).not.toMatch(/time limit/);
    expect(carryPreamble('link_lost')).not.toMatch(/time limit/);
  });

  it('names why the relay could not resume', () => {
    const n = (why: 'unknown' | 'buffer_overflow') => (sessionOutcome({ resumed: false, resume_failed: why }, true, null) as { notice: string }).notice;
    expect(n('unknown')).toMatch(/no longer knew/);
    expect(n('buffer_overflow')).toMatch(/too much of the reply/);
  });

  it('a first session says nothing; a renewal after the provider’s time limit carries the text with those words', () => {
    expect(sessionOutcome({ resumed: false }, false, null)).toEqual({ kind: 'fresh', carry: null, notice: null });
    expect(sessionOutcome({ resumed: false }, false, 'time_limit')).toEqual({ kind: 'fresh', carry: 'time_limit', notice: null });
    expect(carryPreamble('time_limit')).toMatch(/time limit/);
  });
});
