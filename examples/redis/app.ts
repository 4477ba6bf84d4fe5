/**
 * The Redis example: the basic example's routes on PORT (default 8000), publishing to Redis over
 * TCP, the aggregate of every instance on PROMETHEUS_METRICS_PORT (default 9091). Configured by
 * environment variables alone: REDIS_URL (`redis://[user:password@]host:port/db`, `rediss://` for
 * TLS), or REDIS_HOST, REDIS_PORT, REDIS_DB, REDIS_USERNAME, REDIS_PASSWORD; REDIS_CLUSTER=true for
 * a Redis Cluster; REDIS_KEY_PREFIX. Start as many instances as you like, on any hosts and any of
 * the three runtimes: each one's /metrics shows them all.
 * Runs unchanged with `npx tsx`, `bun` and `deno run -A`.
 */
import { createExporter, runtimeName, serve } from "../../src/adapter/auto.ts";
import { createApp } from "../app.ts";

const exporter = createExporter({ redis: {} }); // where Redis is, from the environment
const env = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env ?? {};
const app = createApp(exporter, `${runtimeName()}:${exporter.workerId}`);
const server = await serve(app.fetch, { port: Number(env.PORT ?? 8000), hostname: env.HOST ?? "0.0.0.0" });
await exporter.whenReady();
console.log(
  `app listening on :${server.port} (${runtimeName()}); metrics of every instance on :${
    exporter.metricsServer?.port ?? "off"
  }/metrics`,
);
