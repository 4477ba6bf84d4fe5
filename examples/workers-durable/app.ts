/**
 * The Workers example with nothing but Cloudflare: every isolate records into its own memory and,
 * after each response, hands one publish per flush window to `waitUntil`; the publishes land in a
 * Durable Object of the Worker's own account (`MetricsDurableObject`, bound as
 * PROMETHEUS_METRICS_OBJECT in wrangler.toml), and `/metrics` shows the aggregate of every isolate.
 * Lock `/metrics` with a PROMETHEUS_METRICS_TOKEN secret. Where nothing scrapes the Worker, bind
 * PROMETHEUS_REMOTE_WRITE_URL: the Cron Trigger pushes the aggregate there.
 * Run: `npm run example:workers-durable` (wrangler dev; wrangler needs Node 22.12+).
 */
import { Hono } from "hono";
import { metricsHandler, prometheus } from "hono-prometheus-exporter";
import { createExporter, pushOnSchedule } from "hono-prometheus-exporter/workers";

// The Durable Object class the binding names: exported from the Worker's module.
export { MetricsDurableObject } from "hono-prometheus-exporter/workers";

const exporter = createExporter(); // inert until the first request, which brings the bindings

const app = new Hono();
app.use(prometheus({ exporter }));
app.get("/metrics", metricsHandler(exporter));
app.get("/users/:id", (c) => c.json({ id: c.req.param("id") }));
app.get("/error", () => {
  throw new Error("this route always fails");
});

export default { fetch: app.fetch, scheduled: pushOnSchedule(exporter) };
