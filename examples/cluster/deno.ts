/**
 * The cluster example on Deno: `deno serve --parallel` runs this module in several isolates
 * (DENO_JOBS of them, default the number of CPUs), serving the basic example's routes on the port
 * given to `deno serve`; each isolate publishes to PROMETHEUS_MULTIPROC_DIR; one serves the
 * aggregate on PROMETHEUS_METRICS_PORT (default 9091) and the others stand by to take over.
 * Run: `PORT=8000; deno serve --parallel -A --port $PORT examples/cluster/deno.ts`.
 */
import { Hono } from "hono";
import { prometheus } from "../../mod.ts";
import { createParallelExporter } from "../../src/adapter/deno/index.ts";

const exporter = await createParallelExporter();
const slot = exporter.workerMetrics.workerId;
const app = new Hono();
app.use(prometheus({ exporter }));
app.get("/", (c) => c.text(`Hello from ${slot}\n`));
app.get("/users/:id", (c) => c.json({ id: c.req.param("id"), name: `user ${c.req.param("id")}`, worker: slot }));
app.get("/error", () => {
  throw new Error("this route always fails");
});
app.onError((error, c) => c.text(`internal error: ${error.message}\n`, 500));
console.log(`${slot} ready; metrics on :${exporter.metricsServer?.port ?? "standby"}`);

export default { fetch: app.fetch };
