/**
 * The Hono middleware: records the HTTP metrics of each request into local values, synchronously.
 * It never awaits storage and never throws because of metrics; publishing happens elsewhere.
 * @module
 */
import type { Context } from "hono";
import { routePath } from "hono/route";
import { describeError } from "../core/errors.ts";
import type { Exporter, Middleware } from "../core/exporter/api.ts";
import { internals } from "../core/exporter/exporter.ts";
import { onMalformedRequest } from "../core/serve/malformed.ts";
import { responseContentLength } from "./content_length.ts";
import { type HttpMetrics, httpMetrics } from "./http_metrics.ts";

/** Options of {@link prometheus}. */
export interface PrometheusOptions {
  /** The exporter whose registry and namespace the metrics go to. */
  readonly exporter: Exporter;
  /** Request duration buckets, in seconds. */
  readonly durationBuckets?: readonly number[];
  /** Request and response size buckets, in bytes. */
  readonly sizeBuckets?: readonly number[];
  /** Add `worker_id` to the request counter. Default false. */
  readonly requestsByWorker?: boolean;
}

const countingMalformed = new WeakSet<HttpMetrics>();
const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"]);

/**
 * Creates the middleware that records HTTP metrics: requests, duration, sizes, failures and
 * errors, labelled by method, matched route pattern (`/users/:id`, never the raw path) and status.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { createExporter, prometheus } from "hono-prometheus-exporter";
 * const exporter = createExporter({ metricsServer: false });
 * const app = new Hono();
 * app.use(prometheus({ exporter }));
 * app.get("/users/:id", (c) => c.json({ id: c.req.param("id") }));
 * ```
 */
export function prometheus(options: PrometheusOptions): Middleware {
  const { durationBuckets, sizeBuckets, requestsByWorker } = options;
  const exporter = internals(options.exporter);
  // On the edge, built at the first request: the exporter's configuration comes from its bindings.
  let metrics: HttpMetrics | undefined;
  let afterResponse = false;
  let disabled = false;
  let noExecutionContext = false;
  let recordFailures = 0;

  const setUp = (bindings: unknown): void => {
    exporter.bind(bindings);
    try {
      const { namespace, publishAfterResponse } = exporter.config;
      const workerId = requestsByWorker ? () => exporter.workerMetrics.workerId : () => undefined;
      const table = metrics = httpMetrics(exporter.registry, { namespace, workerId, durationBuckets, sizeBuckets });
      afterResponse = publishAfterResponse;
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
      disabled = true;
      exporter.logger.error(`HTTP metrics are off: ${describeError(error)}`);
    }
  };

  // The publish of a flush window is handed to the waitUntil of the request that opened it: that
  // request's context owns the window's timer and its fetch, and keeps the isolate alive until
  // the publish has landed, with what every later request of the window recorded. Later requests
  // hand nothing, so no request waits on a promise of another request's context (workerd warns
  // about those). Where there is no waitUntil, the window's timer runs the publish.
  let handed: Promise<void> | undefined;
  const handOff = (c: Context): void => {
    const publish = exporter.flushSoon();
    if (publish === handed) return;
    handed = publish;
    if (noExecutionContext) return;
    try {
      c.executionCtx.waitUntil(publish);
    } catch {
      noExecutionContext = true;
    }
  };

  // On a host the configuration is known now, and so are its errors.
  if (!exporter.runtime.edge) setUp(undefined);
  return async function prometheusMiddleware(context, next) {
    const c = context as Context;
    if (metrics === undefined && !disabled) setUp(c.env);
    if (metrics === undefined) return await next();
    const table = metrics;
    const started = performance.now();
    let thrown: unknown;
    try {
      await next();
    } catch (error) {
      thrown = error ?? new Error("undefined thrown");
      throw error;
    } finally {
      try {
        record(table, c, started, thrown);
        if (afterResponse) handOff(c);
      } catch (error) {
        // Metrics must never fail a request; say so once.
        if (recordFailures++ === 0) exporter.logger.error(`recording HTTP metrics failed: ${String(error)}`);
      }
    }
  };
}

function record(metrics: HttpMetrics, c: Context, started: number, thrown: unknown): void {
  const seconds = (performance.now() - started) / 1000;
  const method = METHODS.has(c.req.method) ? c.req.method : "OTHER";
  const route = routePath(c) || "unmatched";
  const status = thrown === undefined ? c.res.status : 500;
  metrics.requests.record(method, route, status, seconds);
  // Touching request headers makes Bun and @hono/node-server build a Headers object, so only
  // requests that may carry a body are asked for their length.
  if (method !== "GET" && method !== "HEAD") {
    const requestLength = c.req.raw.headers.get("content-length");
    if (requestLength !== null) observeSize(metrics.requestSize, { method, route }, requestLength);
  }
  if (thrown === undefined) {
    const responseLength = responseContentLength(c.res);
    if (responseLength !== null) observeSize(metrics.responseSize, { method, route }, responseLength);
  }
  const error = thrown ?? c.error;
  if (error !== undefined) {
    const errorType = errorTypeOf(error);
    metrics.failed.inc({ method, route, error_type: errorType });
    if (c.error !== undefined) metrics.errorHandling.inc({ method, route, error_type: errorType });
  } else if (status >= 500) {
    metrics.failed.inc({ method, route, error_type: "http_5xx" });
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
