/**
 * The one shutdown sequence, used by the exporter's own signal handling, the supervisor (its
 * primary and each worker) and `deno serve --parallel` isolates: `workerInt` (state `quitting`,
 * values published), then what the caller must drain (the app's server, so that requests in
 * flight are recorded; the workers), then `onExit` (the last publish, marked exited), then what
 * must follow it (peers told), then the exit. A second call while one runs does nothing. Beside
 * it: the final publish, bounded by `shutdownTimeoutMs`, and the exporter's own signal handling.
 * @module
 */
import type { Exporter } from "../api/types.ts";
import { configErrorIn, describeError } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { Publisher } from "../publish/publisher.ts";
import { within } from "../serve/deadline.ts";

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

/** What {@link finalPublish} needs besides the publisher. */
export interface FinalPublishOptions {
  /** How long to keep trying, in ms. */
  readonly timeoutMs: number;
  /** The storage kind, for the message. */
  readonly kind: string;
  /** Where the one line goes when the publish could not be made. */
  readonly logger: Logger;
  /** The request counter, whose undelivered requests the line counts. */
  readonly requestsMetric: string;
}

/**
 * The last publish, marked exited: retried (a storage restarting, a network blip) until
 * `timeoutMs` has passed, then given up with one line that says what was not delivered.
 */
export async function finalPublish(publisher: Publisher, options: FinalPublishOptions): Promise<void> {
  const started = performance.now();
  const left = () => options.timeoutMs - (performance.now() - started);
  let delayMs = 50;
  let lastError: unknown;
  for (;;) {
    try {
      const timeout = () => new Error(`no answer before the shutdown deadline (${Math.round(options.timeoutMs)} ms)`);
      await within(publisher.publish({ exited: true }), Math.max(1, left()), timeout);
      return;
    } catch (error) {
      if (configErrorIn(error) !== undefined) return; // said once already; no retry mends it
      lastError = error;
    }
    if (left() <= 1) break;
    await new Promise((resolve) => setTimeout(resolve, Math.min(delayMs, left())));
    delayMs = Math.min(2 * delayMs, 1000);
  }
  const { series, counters } = await publisher.undelivered().catch(() => ({ series: -1, counters: new Map() }));
  const requests = counters.get(options.requestsMetric) ?? counters.get("http_requests_total") ?? 0;
  options.logger.error(
    `final publish to ${options.kind} storage failed (${describeError(lastError)}) until the shutdown deadline ` +
      `(shutdownTimeoutMs): ${series < 0 ? "what was" : `${series} series`} recorded since the last delivered ` +
      `publish ${series === 1 ? "is" : "are"} lost` + (requests > 0 ? `, among them ${requests} request(s)` : ""),
  );
}

/**
 * SIGINT/SIGTERM: the worker state becomes `quitting` and everything is published. When the app
 * has a handler of its own for the signal, that handler decides when the process ends: the
 * exporter keeps publishing on its interval meanwhile (the app may call `onExit()` last).
 * Otherwise the exporter ends the process itself (code 0; a second signal, code 1).
 */
export function onShutdownSignal(
  exporter: Exporter & { readonly workerMetrics: { setState(state: "aborting"): void } },
  runtime: { readonly exit?: (code: number) => void },
): (signal: string, appListens: boolean | undefined) => Promise<void> {
  let stopping = false;
  return async (signal, appListens) => {
    if (stopping) {
      if (appListens) return;
      exporter.workerMetrics.setState("aborting");
      runtime.exit?.(1);
      return;
    }
    stopping = true;
    if (appListens) await exporter.workerInt(signal);
    else await shutDown(exporter, signal, { exit: runtime.exit });
  };
}
