// Polling for a condition in tests that watch another process or socket (no event to await). Fails with what
// it was waiting for, so a timeout reads as a sentence rather than a bare assertion.

/** Resolves with the first truthy value of `check`, polled every `intervalMs`; throws after `timeoutMs`. */
export async function until<T>(what: string, check: () => T | Promise<T>, timeoutMs = 5_000, intervalMs = 20): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
