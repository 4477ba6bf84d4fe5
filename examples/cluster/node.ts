/**
 * The cluster example on Node: WORKERS workers (default: the number of CPUs) serve the basic
 * example's routes on PORT (default 8000); every process publishes to PROMETHEUS_MULTIPROC_DIR
 * (a temporary directory when unset); the supervisor serves the aggregate on
 * PROMETHEUS_METRICS_PORT (default 9091). Run: `npx tsx examples/cluster/node.ts`.
 */
import process from "node:process";
import { createApp } from "../app.ts";
import { serve, supervise } from "../../src/adapter/node/index.ts";

await supervise(async (exporter, slot) => {
  const app = createApp(exporter, slot);
  const server = await serve(app.fetch, {
    port: Number(process.env.PORT ?? 8000),
    hostname: process.env.HOST ?? "0.0.0.0",
  });
  console.log(`${slot} (pid ${process.pid}) serving on :${server.port}`);
  return server;
});
