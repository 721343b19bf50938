// The provider refuses a session after the upgrade (101, one `error`, close 3000/4000): the relay turns each
// shape into one clear error and close code, and never shows its users a fragment of its own key.
// Real relay on loopback, real `ws` clients, the standalone simulator as a network upstream.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloseCode } from '../../../protocol/close-codes.ts';
import { startSimulatorServer, type SimulatorServer } from '../simulator/server.ts';
import { RealtimeTestClient } from '../testing/realtime-client.ts';
import { startTestRelay, type TestRelay } from '../testing/start-relay.ts';
import { createWsUpstreamFactory } from './ws-upstream.ts';
import { withoutKeyFragments } from './connect-refusal.ts';

const RIGHT_KEY = 'sk-proj-right0123456789abcdef';
const WRONG_KEY = 'sk-proj-wrongABCDEFGHIJKLMNOP';

let sim: SimulatorServer;
const relays: TestRelay[] = [];

beforeAll(async () => {
  sim = await startSimulatorServer({ port: 0, apiKey: RIGHT_KEY });
});
afterAll(async () => {
  await Promise.all(relays.map((r) => r.stop()));
  await sim.close();
});

/** The relay's own model allow-list must let the test's unknown models through, so the provider is what refuses. */
const ALLOWED_MODELS = ['gpt-realtime', 'gpt-5-turbo', 'not-a-model'];

async function relayWith(options: { apiKey: string }): Promise<TestRelay> {
  const relay = await startTestRelay({ allowedModels: ALLOWED_MODELS }, { upstreamFactory: createWsUpstreamFactory({ url: sim.url, apiKey: options.apiKey, authHeader: 'authorization', connectTimeoutMs: 2000 }) });
  relays.push(relay);
  return relay;
}

async function session(relay: TestRelay, query = 'model=gpt-realtime'): Promise<RealtimeTestClient> {
  const url = relay.wsUrl.replace(/\?.*$/, `?${query}`);
  return RealtimeTestClient.connect(url, { headers: { authorization: `Bearer ${await relay.mint('ann')}` } });
}

describe('provider refusals through the relay', () => {
  it('maps close 3000 invalid_api_key to 4006 upstream_auth_failed, with the provider message minus the key fragment', async () => {
    const relay = await relayWith({ apiKey: WRONG_KEY });
    const c = await session(relay);
    const closed = await c.closed;
    expect(closed.code).toBe(CloseCode.UpstreamAuth);
    // Exactly one error reaches the client: the relay's, not the provider's (which names the masked key).
    const errors = c.of('error');
    expect(errors).toHaveLength(1);
    expect(errors[0]!.error.code).toBe('upstream_auth_failed');
    expect(errors[0]!.error.message).toContain('Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.');
    const wire = JSON.stringify(c.events);
    for (const fragment of [WRONG_KEY, WRONG_KEY.slice(0, 6), WRONG_KEY.slice(-4), '***']) expect(wire).not.toContain(fragment);
  });

  it('maps close 4000 invalid_model to 4009 model_not_available naming the model the client asked for', async () => {
    const relay = await relayWith({ apiKey: RIGHT_KEY });
    const bad = await session(relay, 'model=gpt-5-turbo');
    expect((await bad.closed).code).toBe(CloseCode.UpstreamRefused);
    expect(bad.of('error').map((e) => e.error.code)).toEqual(['model_not_available']);
    expect(bad.of('error')[0]!.error.message).toMatch(/does not offer the model 'gpt-5-turbo'.*Invalid model/);
  });

  it('maps close 4000 missing_model to 4009 model_not_available too (an UPSTREAM_URL whose own ?model= is empty)', async () => {
    // The relay keeps a ?model= the operator wrote into UPSTREAM_URL; an empty one reaches the provider as no model.
    const relay = await startTestRelay({}, { upstreamFactory: createWsUpstreamFactory({ url: `${sim.url}?model=`, apiKey: RIGHT_KEY, authHeader: 'authorization', connectTimeoutMs: 2000 }) });
    relays.push(relay);
    const c = await session(relay);
    expect((await c.closed).code).toBe(CloseCode.UpstreamRefused);
    expect(c.of('error').map((e) => e.error.code)).toEqual(['model_not_available']);
    // Not "does not offer the model 'gpt-realtime'": the provider was sent no model at all, and the operator must fix it.
    expect(c.of('error')[0]!.error.message).toMatch(/^The AI provider was not told which model to use\. It said: "Missing required parameter: 'model'\."\s.*UPSTREAM_URL/);
  });

  it('refuses an unknown model the same way on the in-process simulator (the default backend)', async () => {
    const relay = await startTestRelay({ allowedModels: ALLOWED_MODELS });
    relays.push(relay);
    const c = await session(relay, 'model=not-a-model');
    expect((await c.closed).code).toBe(CloseCode.UpstreamRefused);
    expect(c.of('error').map((e) => e.error.code)).toEqual(['model_not_available']);
  });

  it('maps the beta-shape refusal to 4009 upstream_protocol_refused', async () => {
    // A proxy between relay and provider that adds `OpenAI-Beta: realtime=v1`, simulated by a second simulator
    // URL the relay dials with the header (the relay itself never sends it).
    const beta = await startSimulatorServer({ port: 0 });
    const relay = await startTestRelay({}, {
      upstreamFactory: (open, handlers) => {
        const factory = createWsUpstreamFactory({ url: beta.url, authHeader: 'authorization', connectTimeoutMs: 2000, extraHeaders: { 'openai-beta': 'realtime=v1' } });
        return factory(open, handlers);
      },
    });
    relays.push(relay);
    const c = await session(relay);
    expect((await c.closed).code).toBe(CloseCode.UpstreamRefused);
    expect(c.of('error').map((e) => e.error.code)).toEqual(['upstream_protocol_refused']);
    await beta.close();
  });

  it('still forwards a normal session on the right key (the refusal gate lets session.created and later errors through)', async () => {
    const relay = await relayWith({ apiKey: RIGHT_KEY });
    const c = await session(relay);
    await c.waitFor('session.created');
    c.send({ type: 'response.cancel', event_id: 'evt_x' });
    const err = await c.waitFor('error');
    expect(err.error).toMatchObject({ code: 'response_cancel_not_active', event_id: 'evt_x' });
    await c.close();
  });
});

describe('withoutKeyFragments', () => {
  it('drops masked and whole keys from a provider message and keeps the rest', () => {
    expect(withoutKeyFragments('Incorrect API key provided: sk-abc***xyz. You can find your API key at https://platform.openai.com/account/api-keys.')).toBe(
      'Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.',
    );
    expect(withoutKeyFragments(`Incorrect API key provided: ${WRONG_KEY}.`)).toBe('Incorrect API key provided.');
    expect(withoutKeyFragments('Key 0123456789abcdef0123456789abcdef is invalid.')).toBe('Key is invalid.');
  });
});
