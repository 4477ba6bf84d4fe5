/** Polling with a deadline: how tests wait for a condition instead of sleeping a fixed time. */

/**
 * Resolves with the first truthy value `check` returns, trying every `everyMs`; rejects with
 * `what` when `timeoutMs` passes first.
 */
export async function until<T>(
  what: string,
  check: () => T | Promise<T>,
  timeoutMs = 10_000,
  everyMs = 20,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
