/**
 * What the middleware and the app wrapper (`instrument`) share: the HTTP metrics of one registry,
 * set up at the first request (on the edge, from its bindings), one request's record from what
 * either of them observed, and the hand-off of the flush window's publish after a response.
 * @module
 */
import { describeError } from "../core/errors.ts";
import type { Context } from "hono";
import type { PrometheusOptions } from "../core/api/types.ts";
import type { ProcessExporter } from "../core/exporter/exporter.ts";
import { isNativeHistogram } from "../core/config/config.ts";
import { onMalformedRequest } from "../core/serve/malformed.ts";
import { declaredLength, noteResponseBodies, responseSize } from "./content_length.ts";
import { type HttpMetrics, httpMetrics } from "./http_metrics.ts";
import { checkHttpOptions, CustomLabels } from "./http_options.ts";
import { exemplarLabels, exemplarOf } from "./exemplar.ts";

/** The HTTP options of the middleware and the wrapper. */
export type HttpOptions = Omit<PrometheusOptions, "exporter">;

const countingMalformed = new WeakSet<HttpMetrics>();

/** The latest flush window's publish seen by any recorder of one exporter (see `#handOff`). */
interface HandOff {
  publish: Promise<void> | undefined;
}
const handOffs = new WeakMap<ProcessExporter, HandOff>();

/** The clock of request durations. Node defines `performance` on the global object as a getter that runs on every read: read it once. */
export const clock: Performance = globalThis.performance;
const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"]);

/** Records requests into one exporter's HTTP metrics; never throws. */
export class HttpRecorder {
  readonly #exporter: ProcessExporter;
  readonly #options: HttpOptions;
  #metrics: HttpMetrics | undefined;
  #disabled = false;
  #afterResponse = false;
  #noExecutionContext = false;
  #recordFailures = 0;
  #noteFailures = 0;
  readonly #handed: HandOff;
  readonly #custom: CustomLabels | undefined;
  #exemplars = false;
  #exemplarFailures = 0;

  /**
   * @param exporter The exporter whose registry and configuration the metrics follow.
   * @param options Buckets and labels, checked here: an option that cannot work throws a ConfigError.
   * @param entry Which call made it, for the errors.
   */
  constructor(exporter: ProcessExporter, options: PrometheusOptions, entry: "prometheus" | "instrument") {
    checkHttpOptions(options, entry);
    this.#exporter = exporter;
    this.#options = options;
    this.#custom = options.customLabels === undefined
      ? undefined
      : new CustomLabels(options.customLabels, options.customLabelLimit, exporter.logger);
    let handed = handOffs.get(exporter);
    if (handed === undefined) handOffs.set(exporter, handed = { publish: undefined });
    this.#handed = handed;
    // On a host the configuration is known now, and so are its errors.
    if (!exporter.runtime.edge) this.#setUp(undefined);
  }

  /** The metrics, set up at the first request (with its bindings on the edge); undefined when they are off. */
  ready(bindings: unknown): HttpMetrics | undefined {
    // What a runtime's Responses do not tell of their size is noted as each is built, from the
    // first request on (Workers refuse a Response built at startup); again when a server has put
    // its own Response in place since.
    try {
      noteResponseBodies();
    } catch (error) {
      // Tried once per global Response: sizes the runtime does not tell are then not recorded.
      if (this.#noteFailures++ === 0) {
        this.#exporter.logger.error(
          `response bodies could not be noted (${describeError(error)}); ` +
            "where the runtime does not tell a response's size, only its content-length header gives it",
        );
      }
    }
    if (this.#metrics === undefined && !this.#disabled) this.#setUp(bindings);
    return this.#metrics;
  }

  #setUp(bindings: unknown): void {
    const exporter = this.#exporter;
    exporter.bind(bindings);
    try {
      const { namespace, publishAfterResponse } = exporter.config;
      const { durationBuckets, sizeBuckets, requestsByWorker, naming, prefix } = this.#options;
      const workerId = requestsByWorker ? () => exporter.workerMetrics.workerId : () => undefined;
      const table = this.#metrics = httpMetrics(exporter.registry, {
        namespace,
        naming,
        workerId,
        durationBuckets,
        sizeBuckets,
        prefix,
        customLabels: this.#custom?.names,
        exemplars: exporter.config.exemplars || this.#options.exemplar !== undefined,
        native: (name) => isNativeHistogram(exporter.config, name),
      });
      this.#exemplars = exporter.config.exemplars || this.#options.exemplar !== undefined;
      this.#afterResponse = publishAfterResponse;
      // Requests the server answered 400 before any app could see them are counted here too (once
      // per registry, however many middlewares record into it).
      if (!countingMalformed.has(table)) {
        countingMalformed.add(table);
        onMalformedRequest((method) =>
          table.requests.record(METHODS.has(method) ? method : "OTHER", "malformed", 400, 0)
        );
      }
    } catch (error) {
      // The app keeps serving; the cause is said once and /metrics answers it (500).
      this.#disabled = true;
      exporter.logger.error(`HTTP metrics are off: ${describeError(error)}`);
    }
  }

  /**
   * Records one request: `response` is undefined when the request threw past the app; `error` is
   * what was thrown, or what Hono's error handler received (`handled`). Then (with
   * `publishAfterResponse`) hands the flush window's publish to `context.executionCtx.waitUntil`.
   * `context` is the request's Hono Context where there is one (the middleware): the custom labels
   * are computed from it. Metrics never fail a request: a failure here is said once.
   */
  record(
    metrics: HttpMetrics,
    request: Request,
    route: string,
    started: number,
    response: Response | undefined,
    error: unknown,
    handled: boolean,
    context: { readonly executionCtx: unknown } | undefined,
  ): void {
    try {
      const seconds = (clock.now() - started) / 1000;
      const requestMethod = request.method;
      const method = METHODS.has(requestMethod) ? requestMethod : "OTHER";
      const status = response === undefined ? 500 : response.status;
      const custom = this.#custom === undefined ? undefined : this.#custom.values(context as Context);
      // Reading a request header costs on some servers: only where exemplars are on.
      const exemplar = !this.#exemplars
        ? undefined
        : this.#options.exemplar === undefined
        ? exemplarOf(request)
        : this.#exemplarOf(context);
      metrics.requests.record(method, route, status, seconds, custom, exemplar);
      // Touching request headers makes Bun and @hono/node-server build a Headers object, so only
      // requests that may carry a body are asked for their length.
      if (method !== "GET" && method !== "HEAD") {
        const requestLength = request.headers.get("content-length");
        if (requestLength !== null) observeSize(metrics.requestSize, { method, route }, requestLength);
      }
      if (response !== undefined) {
        // A HEAD response sends no body: only the length it declares is recorded.
        const bytes = method === "HEAD" ? declaredLength(response) : responseSize(response);
        if (bytes !== undefined) metrics.responseSize.observe(method, route, bytes);
      }
      if (error !== undefined) {
        const errorType = errorTypeOf(error);
        metrics.failed.inc({ method, route, error_type: errorType });
        if (handled) metrics.errorHandling.inc({ method, route, error_type: errorType });
      } else if (status >= 500) {
        metrics.failed.inc({ method, route, error_type: "http_5xx" });
      }
      if (this.#afterResponse) this.#handOff(context);
    } catch (failure) {
      if (this.#recordFailures++ === 0) {
        this.#exporter.logger.error(`recording HTTP metrics failed: ${String(failure)}`);
      }
    }
  }

  /** The app's exemplar of a request; none, said once, when its function throws or returns labels that cannot be one. */
  #exemplarOf(context: { readonly executionCtx: unknown } | undefined): string | undefined {
    if (context === undefined) return undefined;
    try {
      return exemplarLabels(this.#options.exemplar!(context));
    } catch (error) {
      if (this.#exemplarFailures++ === 0) {
        this.#exporter.logger.warn(`a request's exemplar is left out: ${describeError(error)}`);
      }
      return undefined;
    }
  }

  // The publish of a flush window is handed to the waitUntil of the request that opened it: that
  // request's context owns the window's timer and its fetch, and keeps the isolate alive until
  // the publish has landed, with what every later request of the window recorded. Later requests
  // hand nothing, so no request waits on a promise of another request's context (workerd warns
  // "IoContext dropped queued cross-context actions" about those). What was handed is known per
  // exporter, not per recorder: a second middleware of the same exporter (another sub-app, another
  // module) would otherwise take a window another request opened for one it must hand. Where
  // there is no waitUntil, the window's timer runs the publish.
  #handOff(context: { readonly executionCtx: unknown } | undefined): void {
    const publish = this.#exporter.flushSoon();
    const handed = this.#handed;
    if (publish === handed.publish) return;
    handed.publish = publish;
    if (this.#noExecutionContext || context === undefined) return;
    try {
      // Hono's `c.executionCtx` throws where there is none (it is read here, off the common path).
      (context.executionCtx as { waitUntil(promise: Promise<void>): void }).waitUntil(publish);
    } catch {
      this.#noExecutionContext = true;
    }
  }
}

function observeSize(histogram: HttpMetrics["requestSize"], labels: Record<string, string>, header: string): void {
  const bytes = Number(header);
  if (Number.isInteger(bytes) && bytes >= 0) histogram.observe(labels, bytes);
}

function errorTypeOf(error: unknown): string {
  const name = error instanceof Error ? error.constructor.name || error.name : typeof error;
  return name.length > 64 ? name.slice(0, 64) : name;
}
