/**
 * The Workers example: every isolate records into its own memory and, after each response, hands
 * one coalesced publish per flush window to `waitUntil`; `/metrics` shows the aggregate of every
 * isolate, read from Upstash. Configured by bindings alone (wrangler.toml `[vars]` and secrets):
 * UPSTASH_REDIS_REST_URL, UPSTASH_REDIS_REST_TOKEN, PROMETHEUS_METRICS_TOKEN.
 * Run: `npx wrangler dev -c examples/workers/wrangler.toml` (wrangler needs Node 22.12+).
 */
import { Hono } from "hono";
import { metricsHandler, prometheus } from "hono-prometheus-exporter";
import { createExporter } from "hono-prometheus-exporter/workers";

const exporter = createExporter(); // inert until the first request, which brings the bindings

const app = new Hono();
app.use(prometheus({ exporter }));
app.get("/metrics", metricsHandler(exporter));
app.get("/users/:id", (c) => c.json({ id: c.req.param("id") }));
app.get("/error", () => {
  throw new Error("this route always fails");
});

export default app;
