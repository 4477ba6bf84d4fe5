/**
 * The basic example: a Hono app instrumented by the middleware, with the aggregate served by the
 * metrics server. Runs unchanged on Node (`npx tsx examples/basic/app.ts`), Bun
 * (`bun examples/basic/app.ts`) and Deno (`deno run -A examples/basic/app.ts`).
 *
 * Environment: PORT (default 8000), PROMETHEUS_METRICS_PORT (default 9091),
 * PROMETHEUS_BIND_ADDRESS (default 0.0.0.0).
 */
import { createApp } from "../app.ts";
import { createExporter, runtimeName, serve } from "../../src/adapter/auto.ts";

const exporter = createExporter();
await exporter.onStarting();

const app = createApp(exporter);

const env = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env ?? {};
const port = Number(env.PORT ?? 8000);
const server = await serve(app.fetch, { port, hostname: env.HOST ?? "0.0.0.0" });
await exporter.whenReady();
console.log(
  `app listening on :${server.port} (${runtimeName()}); metrics on :${exporter.metricsServer?.port ?? "off"}/metrics`,
);
