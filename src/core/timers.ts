/**
 * Timers that never keep a process alive on their own. Node and Bun timers have `unref()`;
 * Deno's adapter passes `Deno.unrefTimer`; on the edge there is nothing to unref.
 * @module
 */

/** Marks a timer so that it does not keep the process alive. */
export type UnrefTimer = (handle: ReturnType<typeof setTimeout>) => void;

/** The default: call `unref()` when the handle has one. */
export const unrefIfPossible: UnrefTimer = (handle) => {
  (handle as { unref?: () => void }).unref?.();
};

/** Waits `ms` milliseconds without keeping the process alive. */
export function sleep(ms: number, unref: UnrefTimer = unrefIfPossible): Promise<void> {
  return new Promise((resolve) => unref(setTimeout(resolve, ms)));
}
