/**
 * The cluster example on Bun: the same routes as the basic example, served by WORKERS workers
 * (Bun's node:cluster, each on Bun.serve with reusePort) on PORT (default 8000); every process
 * publishes to PROMETHEUS_MULTIPROC_DIR; the supervisor serves the aggregate on
 * PROMETHEUS_METRICS_PORT (default 9091). Run: `bun examples/cluster/bun.ts`.
 */
import process from "node:process";
import { createApp } from "../app.ts";
import { serve, supervise } from "../../src/adapter/bun/index.ts";

await supervise(async (exporter, slot) => {
  const app = createApp(exporter, slot);
  const port = Number(process.env.PORT ?? 8000);
  const server = await serve(app.fetch, { port, hostname: process.env.HOST ?? "0.0.0.0", reusePort: true });
  console.log(`${slot} (pid ${process.pid}) serving on :${server.port}`);
  return server;
});
