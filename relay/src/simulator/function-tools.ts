// Function tools in the simulator, deterministically: a user text turn that names a session tool (its name,
// or the name with spaces for underscores/dashes, any case: "get_weather" or "get weather") gets a
// `function_call` whose arguments are the smallest JSON value that validates against the tool's schema.
// Pure functions, so the rule is testable without a session.

export interface FunctionTool {
  name: string;
  parameters: unknown;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The function tools in a session's or response's `tools` (MCP tools are not simulated). */
export function functionTools(tools: unknown): FunctionTool[] {
  if (!Array.isArray(tools)) return [];
  return tools.filter((t): t is Record<string, unknown> & { name: string } => isObject(t) && t.type === 'function' && typeof t.name === 'string').map((t) => ({ name: t.name, parameters: t.parameters }));
}

/** The tool a user's words name, if any: the longest name that matches, so `get_weather_today` beats `get_weather`. */
export function toolNamedIn(text: string, tools: readonly FunctionTool[]): FunctionTool | undefined {
  const words = text.toLowerCase();
  const spoken = (name: string) => name.toLowerCase().replace(/[_-]+/g, ' ');
  return [...tools]
    .sort((a, b) => b.name.length - a.name.length)
    .find((t) => words.includes(t.name.toLowerCase()) || words.includes(spoken(t.name)));
}

/**
 * What one generated argument may hold. The schema is the client's (`tools` is client-mutable) and, with the
 * in-process simulator, the value is built on the relay's own thread: `minItems: 100000` three levels deep, or a
 * `minLength` of 400 million, would exhaust the process's memory and end every session (issue 11). Past these
 * bounds strings and arrays are cut short — no longer valid against such a schema, which no real tool has.
 */
const MAX_STRING_CHARS = 1024;
const MAX_ARRAY_ITEMS = 16;
interface Budget {
  /** Values still to generate. */
  nodes: number;
  /** String characters still to generate. */
  chars: number;
}

/**
 * The smallest value valid against a JSON schema (the subset tool schemas use: type, properties, required,
 * enum, const, default, anyOf/oneOf/allOf, minimum/exclusiveMinimum, minLength, minItems, items, nullable types),
 * within the bounds above.
 */
export function minimalValue(schema: unknown, depth = 0, budget: Budget = { nodes: 10_000, chars: 100_000 }): unknown {
  if (!isObject(schema) || depth > 16 || --budget.nodes < 0) return null;
  if ('const' in schema) return schema.const;
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[0];
  if ('default' in schema) return schema.default;
  for (const key of ['anyOf', 'oneOf'] as const) {
    const options = schema[key];
    if (Array.isArray(options) && options.length > 0) return minimalValue(options[0], depth + 1, budget);
  }
  if (Array.isArray(schema.allOf)) {
    const merged = Object.assign({}, ...schema.allOf.filter(isObject)) as Record<string, unknown>;
    return minimalValue(merged, depth + 1, budget);
  }
  const type = Array.isArray(schema.type) ? (schema.type.find((t) => t !== 'null') ?? 'null') : schema.type;
  switch (type) {
    case 'object':
    case undefined: {
      if (type === undefined && !isObject(schema.properties)) return null;
      const out: Record<string, unknown> = {};
      const properties = isObject(schema.properties) ? schema.properties : {};
      const required = Array.isArray(schema.required) ? schema.required.filter((r): r is string => typeof r === 'string') : [];
      for (const name of required) out[name] = minimalValue(properties[name], depth + 1, budget);
      return out;
    }
    case 'string': {
      const value = minimalString(schema, Math.min(MAX_STRING_CHARS, budget.chars));
      budget.chars -= value.length;
      return value;
    }
    case 'integer':
    case 'number': {
      if (typeof schema.minimum === 'number') return type === 'integer' ? Math.ceil(schema.minimum) : schema.minimum;
      if (typeof schema.exclusiveMinimum === 'number') return type === 'integer' ? Math.floor(schema.exclusiveMinimum) + 1 : schema.exclusiveMinimum + 1;
      if (typeof schema.maximum === 'number' && schema.maximum < 0) return type === 'integer' ? Math.floor(schema.maximum) : schema.maximum;
      return 0;
    }
    case 'boolean':
      return false;
    case 'array': {
      const min = typeof schema.minItems === 'number' ? Math.min(schema.minItems, MAX_ARRAY_ITEMS) : 0;
      return Array.from({ length: min }, () => minimalValue(schema.items, depth + 1, budget));
    }
    default:
      return null;
  }
}

/** Samples for the string formats tool schemas use (zod's `.email()`, `.url()`, `.uuid()`, `.date()`, …). */
const FORMAT_SAMPLES: Readonly<Record<string, string>> = {
  date: '2026-01-01',
  'date-time': '2026-01-01T00:00:00Z',
  time: '00:00:00Z',
  email: 'sim@example.com',
  uri: 'https://example.com',
  url: 'https://example.com',
  uuid: '00000000-0000-4000-8000-000000000000',
  ipv4: '192.0.2.1',
  ipv6: '2001:db8::1',
  hostname: 'example.com',
};

/**
 * A string within `minLength`/`maxLength` that matches `pattern`: the format's sample or "example", padded or cut,
 * else the first of a few fixed candidates the pattern accepts (deterministic; a pattern none of them matches
 * gets the plain sample, and the README says patterns are best effort).
 */
/** A string that meets the schema's length, format and (best effort) pattern; never longer than `cap` to ask for. */
function minimalString(schema: Record<string, unknown>, cap: number): string {
  const min = Math.min(typeof schema.minLength === 'number' ? schema.minLength : 0, cap);
  const max = typeof schema.maxLength === 'number' ? schema.maxLength : Infinity;
  const fit = (s: string) => (s.length < min ? s.padEnd(min, 'x') : s.slice(0, max));
  const sample = fit((typeof schema.format === 'string' ? FORMAT_SAMPLES[schema.format] : undefined) ?? 'example');
  if (typeof schema.pattern !== 'string') return sample;
  let pattern: RegExp;
  try {
    pattern = new RegExp(schema.pattern, 'u');
  } catch {
    return sample;
  }
  const candidates = [sample, 'example', 'EXAMPLE', 'Example', 'a', 'A', '0', '1', 'abc', 'ABC', '123', 'a1', 'A1', 'abc123', '2026-01-01', 'sim@example.com', 'https://example.com', ''];
  return candidates.map(fit).find((c) => c.length >= min && c.length <= max && pattern.test(c)) ?? sample;
}

/** The `arguments` string of a simulated call to `tool`. */
export function minimalArguments(tool: FunctionTool): string {
  const value = minimalValue(tool.parameters ?? { type: 'object', properties: {} });
  return JSON.stringify(isObject(value) ? value : {});
}
