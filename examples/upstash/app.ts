/**
 * The Upstash example: the basic example's routes on PORT (default 8000), publishing to Upstash
 * REST Redis (UPSTASH_REDIS_REST_URL, UPSTASH_REDIS_REST_TOKEN, REDIS_KEY_PREFIX,
 * REDIS_TTL_SECONDS), the aggregate of every instance on PROMETHEUS_METRICS_PORT (default 9091).
 * Start as many instances as you like, on any hosts: each one's /metrics shows them all.
 * Runs unchanged with `npx tsx`, `bun` and `deno run -A`.
 */
import { createExporter, runtimeName, serve } from "../../src/adapter/auto.ts";
import { createApp } from "../app.ts";

const exporter = createExporter({ upstash: {} }); // credentials and prefix from the environment
const env = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env ?? {};
const app = createApp(exporter, `${runtimeName()}:${exporter.workerId}`);
const server = await serve(app.fetch, { port: Number(env.PORT ?? 8000), hostname: env.HOST ?? "0.0.0.0" });
await exporter.whenReady();
console.log(
  `app listening on :${server.port}; metrics of every instance on :${exporter.metricsServer?.port ?? "off"}/metrics`,
);
