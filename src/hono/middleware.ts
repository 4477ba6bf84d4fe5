/**
 * The Hono middleware: records the HTTP metrics of each request into local values, synchronously.
 * It never awaits storage and never throws because of metrics; publishing happens elsewhere.
 * @module
 */
import type { Context, MiddlewareHandler } from "hono";
import { createMiddleware } from "hono/factory";
import { routePath } from "hono/route";
import type { Exporter } from "../core/exporter.ts";
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
}

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
export function prometheus(options: PrometheusOptions): MiddlewareHandler {
  const { exporter, durationBuckets, sizeBuckets } = options;
  const { namespace, requestsByWorker } = exporter.config;
  const workers = exporter.workerMetrics;
  const workerId = requestsByWorker ? () => workers.workerId : () => undefined;
  const metrics = httpMetrics(exporter.registry, { namespace, workerId, durationBuckets, sizeBuckets });
  let recordFailures = 0;
  return createMiddleware(async function prometheusMiddleware(c, next) {
    const started = performance.now();
    let thrown: unknown;
    try {
      await next();
    } catch (error) {
      thrown = error ?? new Error("undefined thrown");
      throw error;
    } finally {
      try {
        record(metrics, c, started, thrown);
      } catch (error) {
        // Metrics must never fail a request; say so once.
        if (recordFailures++ === 0) exporter.logger.error(`recording HTTP metrics failed: ${String(error)}`);
      }
    }
  });
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
