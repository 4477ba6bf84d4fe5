/**
 * The in-app `/metrics` handler: the same aggregate the metrics server serves, on the app's port,
 * behind the same token check.
 * @module
 */
import type { Context } from "hono";
import type { Exporter, Middleware } from "../core/api/types.ts";
import { internals } from "../core/exporter/exporter.ts";

/**
 * Creates a Hono handler that answers with the aggregate of every process. On Workers it also
 * hands the exporter the request's bindings, like the middleware.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { createExporter, metricsHandler } from "hono-prometheus-exporter";
 * const exporter = createExporter({ metricsServer: false });
 * const app = new Hono();
 * app.get("/metrics", metricsHandler(exporter));
 * ```
 */
export function metricsHandler(exporter: Exporter): Middleware {
  const implementation = internals(exporter, 'app.get("/metrics", metricsHandler(exporter))');
  return (context) => {
    const c = context as Context;
    implementation.bind(c.env);
    return implementation.scrape(c.req.raw);
  };
}
