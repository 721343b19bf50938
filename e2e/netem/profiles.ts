// The phone links of issue 12, as LinkProfiles plus the scripted event each one adds mid-reply.
// Figures are round trips as people quote them ("150 ± 50 ms"): each direction gets half the delay and half the
// jitter; loss applies to each direction on its own. Rate limits are the phone's upload (the scarce direction on
// cellular); downloads get a rate only where the profile names one, with the bottleneck queue a base station keeps.
import type { DirectionProfile, LinkProfile } from './link-model.ts';

export type ProfileName = 'good-4g' | 'poor-4g' | 'weak-3g' | 'outage' | 'black-hole' | 'address-change';

export type LinkEvent =
  | { kind: 'none' }
  /** All packets dropped both ways for `ms`, started while the assistant is speaking. */
  | { kind: 'outage'; ms: number }
  /** The live WebSocket's 4-tuple is silently dropped while the assistant is speaking. */
  | { kind: 'black-hole' }
  /** The phone's address changes while the assistant is speaking. */
  | { kind: 'address-change' };

export interface PhoneProfile {
  name: ProfileName;
  title: string;
  link: LinkProfile;
  event: LinkEvent;
}

function symmetric(rttMs: number, jitterRttMs: number, loss: number, up: Partial<DirectionProfile> = {}, down: Partial<DirectionProfile> = {}): LinkProfile {
  const base: DirectionProfile = { delayMs: rttMs / 2, jitterMs: jitterRttMs / 2, loss };
  return { up: { ...base, ...up }, down: { ...base, ...down } };
}

const goodLink = symmetric(50, 0, 0.005);

export const PROFILES: Record<ProfileName, PhoneProfile> = {
  'good-4g': { name: 'good-4g', title: 'good 4G (50 ms, 0.5 % loss)', link: goodLink, event: { kind: 'none' } },
  'poor-4g': {
    name: 'poor-4g',
    title: 'poor 4G (150 ± 50 ms, 2 % loss, 1 Mbit/s up)',
    link: symmetric(150, 50, 0.02, { rateBitsPerSecond: 1_000_000, queueBytes: 64 * 1024 }),
    event: { kind: 'none' },
  },
  'weak-3g': {
    name: 'weak-3g',
    title: 'weak 3G (300 ± 100 ms, 3 % loss, 384 kbit/s up)',
    link: symmetric(300, 100, 0.03, { rateBitsPerSecond: 384_000, queueBytes: 48 * 1024 }),
    event: { kind: 'none' },
  },
  outage: { name: 'outage', title: '10 s outage mid-reply (good 4G otherwise)', link: goodLink, event: { kind: 'outage', ms: 10_000 } },
  'black-hole': { name: 'black-hole', title: 'silent drop of the live connection mid-reply', link: goodLink, event: { kind: 'black-hole' } },
  'address-change': { name: 'address-change', title: 'address change mid-reply', link: goodLink, event: { kind: 'address-change' } },
};
