/**
 * The app the HTTP benchmark loads, in one of four variants (BENCH_VARIANT): `bare` Hono, a `noop`
 * middleware, `exporter` (this library's middleware), `hono-prometheus` (@hono/prometheus).
 * Runs on Node (through @hono/node-server), Bun and Deno. Prints "ready <port>" when listening.
 */
import { Hono, type MiddlewareHandler } from "hono";
import { prometheus as honoPrometheus } from "@hono/prometheus";
import { prometheus } from "../mod.ts";
import { createExporter, runtimeName } from "../src/adapter/auto.ts";
import { Registry } from "../src/core/metrics.ts";

const env = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env ?? {};
const variant = env.BENCH_VARIANT ?? "bare";
const app = new Hono();

if (variant === "noop") {
  const noop: MiddlewareHandler = async (_c, next) => {
    await next();
  };
  app.use(noop);
} else if (variant === "exporter") {
  const exporter = await createExporter({ registry: new Registry(), metricsServer: false, handleSignals: false });
  app.use(prometheus({ exporter }));
  await exporter.whenReady();
} else if (variant === "hono-prometheus") {
  const { registerMetrics } = honoPrometheus({ registry: new Registry() });
  app.use("*", registerMetrics);
} else if (variant !== "bare") {
  throw new Error(`unknown BENCH_VARIANT ${variant}`);
}

app.get("/users/:id", (c) => c.json({ id: c.req.param("id"), name: "bench" }));

const port = Number(env.PORT ?? 0);
const runtime = runtimeName();
if (runtime === "node") {
  const { serve } = await import("@hono/node-server");
  const server = serve({ fetch: app.fetch, port, hostname: "127.0.0.1" }, (info) => console.log(`ready ${info.port}`));
  void server;
} else {
  const { serve } = await import("../src/adapter/auto.ts");
  const server = await serve(app.fetch, { port, hostname: "127.0.0.1" });
  console.log(`ready ${server.port}`);
}

// For profiling: end on our own so that --cpu-prof can write its profile.
if (env.BENCH_EXIT_AFTER_MS) {
  setTimeout(
    () => (globalThis as { process?: { exit(code: number): void } }).process?.exit(0),
    Number(env.BENCH_EXIT_AFTER_MS),
  );
}
