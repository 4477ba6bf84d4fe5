/**
 * The cluster example on Bun: the same routes as the basic example, served by WORKERS workers
 * (Bun's node:cluster, each on Bun.serve with reusePort) on PORT (default 8000); every process
 * publishes to PROMETHEUS_MULTIPROC_DIR; the supervisor serves the aggregate on
 * PROMETHEUS_METRICS_PORT (default 9091). Run: `bun examples/cluster/bun.ts`.
 */
import process from "node:process";
import { Hono } from "hono";
import { prometheus } from "../../mod.ts";
import { serve, supervise } from "../../src/adapter/bun/index.ts";

await supervise(async (exporter, slot) => {
  const app = new Hono();
  app.use(prometheus({ exporter }));
  app.get("/", (c) => c.text(`Hello from ${slot}\n`));
  app.get("/users/:id", (c) => c.json({ id: c.req.param("id"), name: `user ${c.req.param("id")}`, worker: slot }));
  app.get("/error", () => {
    throw new Error("this route always fails");
  });
  app.onError((error, c) => c.text(`internal error: ${error.message}\n`, 500));
  const port = Number(process.env.PORT ?? 8000);
  const server = await serve(app.fetch, { port, hostname: process.env.HOST ?? "0.0.0.0", reusePort: true });
  console.log(`${slot} (pid ${process.pid}) serving on :${server.port}`);
  return server;
});
