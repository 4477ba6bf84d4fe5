/**
 * Cloudflare Workers entry point. `createExporter()` is called at module scope, as Workers code is
 * written, and does nothing there: the exporter is built at the first request, configured from
 * that request's bindings (Hono's `c.env`), which the middleware hands it. A
 * `PROMETHEUS_METRICS_OBJECT` binding of the exported `MetricsDurableObject` selects the Durable
 * Object backend; an `UPSTASH_REDIS_REST_URL` binding selects Upstash. The request that opens a flush
 * window hands that window's one coalesced publish to its `executionCtx.waitUntil`. `/metrics` is refused
 * until a `PROMETHEUS_METRICS_TOKEN` is bound or the metrics are declared public. Needs the
 * `nodejs_compat` compatibility flag (prom-client imports Node modules).
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { metricsHandler, prometheus } from "hono-prometheus-exporter";
 * import { createExporter } from "hono-prometheus-exporter/workers";
 *
 * const exporter = createExporter();
 * const app = new Hono();
 * app.use(prometheus({ exporter }));
 * app.get("/metrics", metricsHandler(exporter));
 * // and the Worker's module ends with: export default app;
 * ```
 * @module
 */
export { createExporter, type WorkersExporterOptions } from "./workers.ts";
export { pushOnSchedule, type ScheduledContext } from "./scheduled.ts";
export { type DurableObjectStateLike, MetricsDurableObject } from "../../storage/durable/object.ts";
export type { SqlStorageLike } from "../../storage/durable/sql.ts";
export type { CommonOptions, NoServerOptions } from "../../core/api/types.ts";
