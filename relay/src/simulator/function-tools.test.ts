// The simulator's tool rule, on its own: which tool a user's words name, and arguments that validate
// against the tool's JSON schema (checked with Ajv, an independent validator, not with the generator); and,
// through a relay process on its default in-process simulator, that a client's tool schema cannot make those
// arguments big enough to end the relay (tools are client-mutable by default).
import Ajv from 'ajv';
import { rmSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { mintTokens } from '../testing/mint-tokens.ts';
import { RealtimeTestClient } from '../testing/realtime-client.ts';
import { spawnRelayProcess, tempDataDir } from '../testing/start-relay.ts';
import { functionTools, minimalArguments, toolNamedIn } from './function-tools.ts';

const ajv = new Ajv({ strict: false });

const weather = {
  type: 'function',
  name: 'get_weather',
  description: 'Weather for a city',
  parameters: {
    type: 'object',
    properties: {
      city: { type: 'string', minLength: 12 },
      unit: { type: 'string', enum: ['celsius', 'fahrenheit'] },
      days: { type: 'integer', minimum: 1, maximum: 7 },
      hourly: { type: 'boolean' },
      tags: { type: 'array', items: { type: 'string' }, minItems: 2 },
      when: { anyOf: [{ type: 'string', format: 'date' }, { type: 'null' }] },
      nested: { type: 'object', properties: { lat: { type: 'number', exclusiveMinimum: 0 } }, required: ['lat'], additionalProperties: false },
      note: { type: 'string' },
    },
    required: ['city', 'unit', 'days', 'hourly', 'tags', 'when', 'nested'],
    additionalProperties: false,
  },
};
const weatherToday = { type: 'function', name: 'get_weather_today', parameters: { type: 'object', properties: {} } };
const noParams = { type: 'function', name: 'ping' };

describe('simulated function tools', () => {
  it('finds the tool a text turn names, by name or with spaces, longest name first, ignoring MCP tools', () => {
    const tools = functionTools([weather, weatherToday, noParams, { type: 'mcp', server_label: 'x' }]);
    expect(tools.map((t) => t.name)).toEqual(['get_weather', 'get_weather_today', 'ping']);
    expect(toolNamedIn('please call get_weather for Paris', tools)?.name).toBe('get_weather');
    expect(toolNamedIn('Get Weather Today, thanks', tools)?.name).toBe('get_weather_today');
    expect(toolNamedIn('hello there', tools)).toBeUndefined();
  });

  it('generates minimal arguments that validate against the schema', () => {
    const args = JSON.parse(minimalArguments({ name: 'get_weather', parameters: weather.parameters })) as Record<string, unknown>;
    const valid = ajv.validate(weather.parameters, args);
    expect(ajv.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
    expect(args).not.toHaveProperty('note');
    expect(minimalArguments({ name: 'ping', parameters: undefined })).toBe('{}');
  });

  it('keeps strings within maxLength and matching a pattern, as zod and JSON-schema tools declare them', () => {
    const booking = {
      type: 'object',
      properties: {
        code: { type: 'string', maxLength: 3 },
        airport: { type: 'string', pattern: '^[A-Z]{3}$' },
        digits: { type: 'string', pattern: '^[0-9]+$', minLength: 2, maxLength: 4 },
        id: { type: 'string', format: 'uuid', pattern: '^[0-9a-f-]{36}$' },
        site: { type: 'string', format: 'uri', pattern: '^https://' },
      },
      required: ['code', 'airport', 'digits', 'id', 'site'],
      additionalProperties: false,
    };
    const args = JSON.parse(minimalArguments({ name: 'book', parameters: booking })) as Record<string, unknown>;
    const valid = ajv.validate(booking, args);
    expect(ajv.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });
});

/** A schema whose smallest valid value is ~10^15 strings of 10^6 characters: no process can build it. */
const explosive = {
  type: 'object',
  properties: { x: { type: 'array', minItems: 100_000, items: { type: 'array', minItems: 100_000, items: { type: 'array', minItems: 100_000, items: { type: 'string', minLength: 1_000_000 } } } }, y: { type: 'string', minLength: 400_000_000 } },
  required: ['x', 'y'],
};

describe('a tool schema asking for huge arguments', () => {
  it('gets bounded arguments (long strings and arrays cut short) instead of exhausting memory', () => {
    const args = minimalArguments({ name: 'explode', parameters: explosive });
    expect(args.length).toBeLessThan(1_000_000);
    const value = JSON.parse(args) as { x: unknown[][][]; y: string };
    expect(value.x.length).toBeGreaterThan(0);
    expect(typeof value.y).toBe('string');
  });

  it('cannot end a relay process running the in-process simulator', async () => {
    const dataDir = tempDataDir('earshot-tool-bomb-');
    const { bomber } = await mintTokens(dataDir, ['bomber']);
    // A small heap, so a relay that tried to build the arguments would die at once rather than swap the machine.
    const relay = await spawnRelayProcess({ EARSHOT_DATA_DIR: dataDir }, { nodeArgs: ['--max-old-space-size=256'] });
    try {
      const c = await RealtimeTestClient.connect(`ws://127.0.0.1:${relay.port}/v1/realtime`, { headers: { authorization: `Bearer ${bomber}` } });
      await c.waitFor('session.updated');
      const from = c.events.length;
      c.send({ type: 'session.update', session: { type: 'realtime', output_modalities: ['text'], tools: [{ type: 'function', name: 'explode', parameters: explosive }] } });
      await c.waitFor('session.updated', { from });
      c.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'please explode' }] } });
      c.send({ type: 'response.create' });
      const call = await c.waitFor('response.function_call_arguments.done', { timeoutMs: 60_000 });
      expect(call.arguments.length).toBeLessThan(1_000_000);
      await c.waitFor('response.done');
      expect((await fetch(`${relay.url}/healthz`)).status).toBe(200);
      expect(relay.child.exitCode).toBeNull();
      await c.close();
    } finally {
      await relay.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});
