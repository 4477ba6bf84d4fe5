/**
 * The Hono middleware: records the HTTP metrics of each request into local values, synchronously.
 * It never awaits storage and never throws because of metrics; publishing happens elsewhere.
 * @module
 */
import type { Context } from "hono";
import type { Middleware, PrometheusOptions } from "../core/exporter/api.ts";
import { internals } from "../core/exporter/exporter.ts";
import { clock, HttpRecorder } from "./recorder.ts";
import { answeredRoute } from "./route.ts";

export type { PrometheusOptions };

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
  const recorder = new HttpRecorder(internals(options.exporter), options);
  return async function prometheusMiddleware(context, next) {
    const c = context as Context;
    const metrics = recorder.ready(c.env);
    if (metrics === undefined) return await next();
    const started = clock.now();
    let thrown: unknown;
    try {
      await next();
    } catch (error) {
      thrown = error ?? new Error("undefined thrown");
      throw error;
    } finally {
      recorder.record(
        metrics,
        c.req.raw,
        answeredRoute(c) || "unmatched",
        started,
        thrown === undefined ? c.res : undefined,
        thrown ?? c.error,
        c.error !== undefined,
        c,
      );
    }
  };
}
