import { describe, expect, it } from 'vitest';
import { benchSwitches } from './bench-switches.ts';

describe('benchSwitches', () => {
  it('leaves the engine as the app ships it when the address carries no switch', () => {
    expect(benchSwitches('')).toEqual({});
    expect(benchSwitches('?playback=loopback&guard=on&other=1')).toEqual({});
  });

  it('plays directly with ?playback=direct and turns the guard off with ?guard=off', () => {
    expect(benchSwitches('?playback=direct')).toEqual({ echoLoopback: false });
    expect(benchSwitches('?guard=off')).toEqual({ bargeInGuard: false });
    expect(benchSwitches('?guard=off&playback=direct')).toEqual({ echoLoopback: false, bargeInGuard: false });
  });

  it('keeps the guard trace with ?trace=guard', () => {
    expect(benchSwitches('?trace=guard')).toEqual({ guardTrace: true });
  });
});
