/**
 * Starts the metrics server through the runtime's `serve`, retrying when the port is taken
 * (another process still holds it, or is about to release it) with a growing delay.
 * @module
 */
import { describeError } from "./errors.ts";
import type { Logger } from "./log.ts";
import type { FetchHandler, Runtime, ServerHandle } from "./runtime.ts";

/** Options of {@link startServerWithRetry}. */
export interface ServerRetryOptions {
  /** Port to bind; 0 picks a free one. */
  readonly port: number;
  /** Address to bind. */
  readonly hostname: string;
  /** Attempts in all. */
  readonly attempts: number;
  /** Delay after the first failure; the n-th waits n times as long. */
  readonly initialDelayMs: number;
  /** Where the final failure is reported, in one line. */
  readonly logger: Logger;
  /** Do not report the final failure (the caller stands by and says so itself). */
  readonly quiet?: boolean;
}

/** Starts a server, or returns undefined after the last attempt failed (logged once). */
export async function startServerWithRetry(
  serve: NonNullable<Runtime["serve"]>,
  handler: FetchHandler,
  options: ServerRetryOptions,
): Promise<ServerHandle | undefined> {
  let lastError: unknown;
  for (let attempt = 1; attempt <= options.attempts; attempt++) {
    try {
      return await serve(handler, { port: options.port, hostname: options.hostname });
    } catch (error) {
      lastError = error;
      // A held timer: a sidecar has nothing else keeping it alive while it waits for the port.
      if (attempt < options.attempts) await new Promise((r) => setTimeout(r, options.initialDelayMs * attempt));
    }
  }
  if (options.quiet) return undefined;
  options.logger.error(
    `metrics server could not listen on ${options.hostname}:${options.port} after ${options.attempts} attempts ` +
      `(${describeError(lastError)}); the app keeps running without it. Free the port or set PROMETHEUS_METRICS_PORT.`,
  );
  return undefined;
}
