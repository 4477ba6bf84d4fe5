/**
 * Starts the metrics server through the runtime's `serve`, retrying when the port is taken
 * (another process still holds it, or is about to release it) with a growing delay.
 * @module
 */
import { describeError } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { FetchHandler, Runtime, ServerHandle, TlsMaterial } from "../runtime.ts";
import { unrefIfPossible, type UnrefTimer } from "../timers.ts";

/** Options of {@link startServerWithRetry}. */
export interface ServerRetryOptions {
  /** Port to bind; 0 picks a free one. */
  readonly port: number;
  /** Address to bind. */
  readonly hostname: string;
  /** HTTPS material, when the server speaks HTTPS. */
  readonly tls?: TlsMaterial;
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
      return await serve(handler, { port: options.port, hostname: options.hostname, tls: options.tls });
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

/** Options of {@link standBy}. */
export interface StandByOptions {
  /** Port to take over. */
  readonly port: number;
  /** Address to bind. */
  readonly hostname: string;
  /** HTTPS material, when the server speaks HTTPS. */
  readonly tls?: TlsMaterial;
  /** Delay between attempts. */
  readonly everyMs: number;
  /** Where the stand-by and the takeover are reported. */
  readonly logger: Logger;
  /** Keeps the retry timer from holding the process open. */
  readonly unrefTimer?: UnrefTimer;
  /** Whether a server is still wanted (false once the exporter exited or holds one). */
  readonly wanted: () => boolean;
  /** Receives the server once the port is taken over. */
  readonly taken: (server: ServerHandle) => void;
}

/**
 * Keeps trying the port in the background while another process or isolate holds it, so that this
 * one takes over when the holder goes away.
 */
export function standBy(serve: NonNullable<Runtime["serve"]>, handler: FetchHandler, options: StandByOptions): void {
  // Expected on every start of `deno serve --parallel` (one isolate binds, the others wait): said
  // only when it matters, at the takeover.
  const where = `${options.hostname}:${options.port}`;
  const schedule = () => (options.unrefTimer ?? unrefIfPossible)(setTimeout(attempt, options.everyMs));
  const attempt = async () => {
    if (!options.wanted()) return;
    try {
      options.taken(await serve(handler, { port: options.port, hostname: options.hostname, tls: options.tls }));
      options.logger.warn(`metrics server taken over on ${where}: the process or isolate that served it went away`);
    } catch {
      schedule();
    }
  };
  schedule();
}
