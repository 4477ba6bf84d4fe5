/**
 * Lifecycle hooks, named after gunicorn's: onStarting, whenReady, postFork, workerInt, onExit.
 * Each can be overridden; every hook runs through one executor that catches, logs with the hook's
 * name and counts, so a failing hook never takes the app down.
 * @module
 */
import { describeError } from "../errors.ts";
import type { Logger } from "../log.ts";

/** The hook names. */
export type HookName = "onStarting" | "whenReady" | "postFork" | "workerInt" | "onExit";

/** What a hook is told. */
export interface HookContext<E> {
  /** The exporter the hook belongs to. */
  readonly exporter: E;
  /** The worker slot, for `postFork`. */
  readonly workerId?: string;
  /** The signal that triggered `workerInt`. */
  readonly signal?: string;
  /** Runs the built-in behaviour of this hook, for an override that wants to keep it. */
  readonly runDefault: () => Promise<void>;
}

/** A hook: the built-in one, or a user's override. */
export type Hook<E> = (context: HookContext<E>) => void | Promise<void>;

/** Hook overrides, by name. */
export type Hooks<E> = Partial<Record<HookName, Hook<E>>>;

/**
 * Runs `hook`, catching anything it throws or rejects with. Returns whether it succeeded.
 */
export async function runHook<E>(
  name: HookName,
  hook: Hook<E>,
  context: HookContext<E>,
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
