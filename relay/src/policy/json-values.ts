// JSON values from untrusted clients: parsed with a depth cap, compared and walked without recursion. The walks
// use explicit stacks because nesting is chosen by whoever sent the frame: a recursive walk lets one 24 KB frame
// overflow the stack (issue 11, finding 1). V8's JSON.parse itself is iterative; JSON.stringify, structuredClone
// and most libraries are not, which is why nothing deeper than the cap is ever handed on.
export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
export type JsonObject = { [key: string]: JsonValue };

/**
 * Deepest nesting accepted in a client event (`{}` is 1). A session.update with function tools whose JSON schemas
 * nest a dozen objects is ~30 deep; the cap keeps every recursive consumer after the relay (JSON.stringify, the
 * simulator's structuredClone, the provider's parser) far from its stack limit.
 */
export const MAX_EVENT_DEPTH = 64;

export type BoundedParse = { ok: true; value: JsonValue } | { ok: false; reason: 'not_utf8' | 'not_json' | 'too_deep' };

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Parses `bytes` as one JSON value nested at most `maxDepth` containers deep (`{}` is depth 1). */
export function parseBoundedJson(bytes: Uint8Array, maxDepth: number): BoundedParse {
  let text: string;
  try {
    text = strictUtf8.decode(bytes);
  } catch {
    return { ok: false, reason: 'not_utf8' };
  }
  let value: JsonValue;
  try {
    value = JSON.parse(text) as JsonValue;
  } catch {
    return { ok: false, reason: 'not_json' };
  }
  return depthOf(value) > maxDepth ? { ok: false, reason: 'too_deep' } : { ok: true, value };
}

/** How many containers deep `value` nests (0 for a scalar). Iterative. */
export function depthOf(value: JsonValue): number {
  let max = 0;
  const stack: Array<[JsonValue, number]> = [[value, 1]];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const [node, depth] = top;
    if (typeof node !== 'object' || node === null) continue;
    if (depth > max) max = depth;
    const children = Array.isArray(node) ? node : Object.values(node);
    for (const child of children) if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
  }
  return max;
}

/** Structural equality of two JSON values (object key order ignored). Iterative. */
export function jsonEqual(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
  const stack: Array<[JsonValue | undefined, JsonValue | undefined]> = [[a, b]];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const [x, y] = top;
    if (x === y) continue;
    if (typeof x !== 'object' || typeof y !== 'object' || x === null || y === null) return false;
    if (Array.isArray(x) !== Array.isArray(y)) return false;
    if (Array.isArray(x) && Array.isArray(y)) {
      if (x.length !== y.length) return false;
      for (let i = 0; i < x.length; i++) stack.push([x[i], y[i]]);
      continue;
    }
    const xo = x as JsonObject;
    const yo = y as JsonObject;
    const keys = Object.keys(xo);
    if (keys.length !== Object.keys(yo).length) return false;
    for (const k of keys) {
      if (!Object.hasOwn(yo, k)) return false;
      stack.push([xo[k], yo[k]]);
    }
  }
  return true;
}

/** The value at a dotted path (`audio.output.voice`), or undefined. */
export function valueAt(root: JsonValue | undefined, path: string): JsonValue | undefined {
  let node = root;
  for (const key of path.split('.')) {
    if (!isJsonObject(node) || !Object.hasOwn(node, key)) return undefined;
    node = node[key];
  }
  return node;
}
