/**
 * The one shutdown sequence, used by the exporter's own signal handling, the supervisor (its
 * primary and each worker) and `deno serve --parallel` isolates: `workerInt` (state `quitting`,
 * values published), then what the caller must drain (the app's server, so that requests in
 * flight are recorded; the workers), then `onExit` (the last publish, marked exited), then what
 * must follow it (peers told), then the exit. A second call while one runs does nothing.
 * @module
 */
import type { Exporter } from "./api.ts";

/** What a shutdown does around the exporter's own steps. */
export interface ShutdownSteps {
  /** After `workerInt`, before `onExit`: stop what still records (the app's server, the workers). */
  readonly drain?: () => Promise<void>;
  /** After `onExit`: anything the exit must wait for. */
  readonly after?: () => Promise<void>;
  /** Ends the process; absent when the app decides when it ends. */
  readonly exit?: (code: number) => void;
}

const running = new WeakMap<Exporter, Promise<void>>();

/** Shuts `exporter` down for `signal` (once: a second call returns the first one's promise). */
export function shutDown(exporter: Exporter, signal: string, steps: ShutdownSteps = {}): Promise<void> {
  const current = running.get(exporter);
  if (current !== undefined) return current;
  const sequence = (async () => {
    await exporter.workerInt(signal);
    await steps.drain?.().catch(() => {});
    await exporter.onExit();
    await steps.after?.().catch(() => {});
    steps.exit?.(0);
  })();
  running.set(exporter, sequence);
  return sequence;
}

/** Whether a shutdown of `exporter` has begun. */
export function shuttingDown(exporter: Exporter): boolean {
  return running.has(exporter);
}
