/**
 * The cluster example on Deno: `deno serve --parallel` runs this module in several isolates
 * (DENO_JOBS of them, default the number of CPUs), serving the basic example's routes on the port
 * given to `deno serve`; each isolate publishes to PROMETHEUS_MULTIPROC_DIR; one serves the
 * aggregate on PROMETHEUS_METRICS_PORT (default 9091) and the others stand by to take over.
 * Run: `PORT=8000; deno serve --parallel -A --port $PORT examples/cluster/deno.ts`.
 */
import { createApp } from "../app.ts";
import { createParallelExporter } from "../../src/adapter/deno/index.ts";

const exporter = createParallelExporter(); // starts nothing: whenReady() claims this isolate's slot
await exporter.whenReady();
const slot = exporter.workerId;
const app = createApp(exporter, slot);
console.log(`${slot} ready; metrics on :${exporter.metricsServer?.port ?? "standby"}`);

export default { fetch: app.fetch };
