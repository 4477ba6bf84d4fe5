#!/usr/bin/env node
/**
 * The sidecar: serves the aggregate of every process from storage alone, with no app, configured
 * by the same environment variables and the same rule as the apps (`UPSTASH_*`, `REDIS_ENABLED`
 * with `REDIS_URL` or `REDIS_HOST`, or `PROMETHEUS_MULTIPROC_DIR`;
 * `PROMETHEUS_METRICS_PORT`, `PROMETHEUS_BIND_ADDRESS`).
 *
 *   npx hono-prometheus-exporter serve
 *   deno run -A jsr:@hono-prometheus/exporter/cli serve
 *   bun src/cli.ts serve
 * @module
 */
import { createExporter } from "./adapter/auto.ts";
import { hostRuntime } from "./adapter/host_runtime.ts";
import { ConfigError, describeError } from "./core/errors.ts";
import { chooseStorage, HOST_PLACE } from "./storage/drivers.ts";
import { hostEnv } from "./adapter/entry/host_exporter.ts";

const USAGE = `usage: hono-prometheus-exporter serve

Serves /metrics with the aggregate of every process that publishes to the configured storage:
  UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN (Upstash), or
  REDIS_ENABLED=true with REDIS_URL, or REDIS_HOST and REDIS_PORT (Redis over TCP), or
  PROMETHEUS_MULTIPROC_DIR=<dir> (filesystem).
On PROMETHEUS_METRICS_PORT (default 9091) and PROMETHEUS_BIND_ADDRESS (default 0.0.0.0); HTTPS with
PROMETHEUS_SSL_CERTFILE and PROMETHEUS_SSL_KEYFILE (client certificates: PROMETHEUS_SSL_CLIENT_CAFILE);
locked with PROMETHEUS_METRICS_TOKEN, or PROMETHEUS_METRICS_USERNAME and PROMETHEUS_METRICS_PASSWORD;
settings may come from PROMETHEUS_CONFIG_FILE (YAML), under the environment.`;

/** Runs the command line; returns the exit code (0 while the server runs). */
export async function main(args: readonly string[]): Promise<number> {
  if (args[0] !== "serve") {
    console.error(USAGE);
    return args[0] === undefined || args[0] === "help" || args[0] === "--help" ? 0 : 2;
  }
  try {
    const runtime = hostRuntime();
    const storage = chooseStorage(hostEnv(runtime.env), {}, HOST_PLACE); // the configuration file too
    if (storage === undefined) {
      throw new ConfigError(
        "REDIS_ENABLED",
        "nothing to serve: set UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN, REDIS_ENABLED=true (with REDIS_URL), " +
          "or PROMETHEUS_MULTIPROC_DIR",
      );
    }
    const exporter = createExporter({ storage, workerId: "sidecar" });
    await exporter.whenReady();
    if (exporter.metricsServer === undefined) return 1;
    console.log(`sidecar serving the ${storage.kind} aggregate on :${exporter.metricsServer.port}/metrics`);
    return 0;
  } catch (error) {
    console.error(`hono-prometheus-exporter: ${describeError(error)}`);
    return 2;
  }
}

const argv = (globalThis as { Deno?: { args: string[] } }).Deno?.args ??
  (globalThis as { process?: { argv: string[] } }).process?.argv.slice(2) ?? [];
const code = await main(argv);
if (code !== 0) (globalThis as { process?: { exit(code: number): void } }).process?.exit(code);
