import { describe, expect, it } from 'vitest';
import { appLinkOffer } from './offer.ts';

describe('appLinkOffer', () => {
  it('is null unless earshot.v2 is offered (the verbatim path)', () => {
    expect(appLinkOffer('earshot.v1, earshot-token.abc')).toBeNull();
    expect(appLinkOffer('')).toBeNull();
  });

  it('reads a fresh offer and a resume offer with its count', () => {
    expect(appLinkOffer('earshot.v2, earshot-token.x.y.z')).toEqual({ resume: null });
    expect(appLinkOffer('earshot.v2, earshot-token.t, earshot-resume.AbC_-123.42')).toEqual({ resume: { token: 'AbC_-123', received: 42 } });
  });

  it('marks a malformed count as NaN rather than guessing', () => {
    expect(appLinkOffer('earshot.v2, earshot-resume.tok')?.resume?.received).toBeNaN();
    expect(appLinkOffer('earshot.v2, earshot-resume.tok.-1')?.resume?.received).toBeNaN();
  });
});
