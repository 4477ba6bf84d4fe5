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
