/**
 * Lifecycle hooks, named after gunicorn's: onStarting, whenReady, postFork, workerInt, onExit.
 * Each can be overridden; every hook runs through one executor that catches, logs with the hook's
 * name and counts, so a failing hook never takes the app down.
 * @module
 */
import { describeError } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { HookContext } from "../api/types.ts";

/** The hook names. */
export type HookName = "onStarting" | "whenReady" | "postFork" | "workerInt" | "onExit";

/** A hook: the built-in one, or a user's override. */
export type Hook = (context: HookContext) => void | Promise<void>;

/**
 * Runs `hook`, catching anything it throws or rejects with. Returns whether it succeeded.
 */
export async function runHook(
  name: HookName,
  hook: Hook,
  context: HookContext,
  logger: Logger,
  onError?: (name: HookName) => void,
): Promise<boolean> {
  try {
    await hook(context);
    return true;
  } catch (error) {
    logger.error(`hook ${name} failed: ${describeError(error)}`);
    onError?.(name);
    return false;
  }
}
