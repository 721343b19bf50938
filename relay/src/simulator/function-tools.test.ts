// The simulator's tool rule, on its own: which tool a user's words name, and arguments that validate
// against the tool's JSON schema (checked with Ajv, an independent validator, not with the generator).
import Ajv from 'ajv';
import { describe, expect, it } from 'vitest';
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
