/**
 * hono-prometheus-exporter: Prometheus metrics for Hono apps that run as many processes or
 * isolates, aggregated into one correct `/metrics`.
 *
 * This entry is edge-safe: it pulls in no `node:*` module. Runtime adapters live at
 * `hono-prometheus-exporter/node`, `/bun`, `/deno`, `/workers` (and `/auto`, which picks one).
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { createExporter, metricsHandler, prometheus } from "hono-prometheus-exporter";
 *
 * const exporter = createExporter({ metricsServer: false });
 * const app = new Hono();
 * app.use(prometheus({ exporter }));
 * app.get("/metrics", metricsHandler(exporter));
 * app.get("/users/:id", (c) => c.json({ id: c.req.param("id") }));
 * ```
 * @module
 */
import type { Exporter, ExporterOptions } from "./src/core/exporter/api.ts";
import { createExporterFor } from "./src/adapter/factory.ts";
import { webRuntime } from "./src/core/runtime.ts";
import { emptyEnv } from "./src/core/env.ts";
import { ConfigError } from "./src/core/errors.ts";
import { upstashFromEnv } from "./src/storage/redis/settings.ts";

/**
 * Creates an exporter with only Web APIs (no metrics server, no signals, no process probe, no
 * environment): storage is the `storage` option, Upstash with the `upstash` option, else memory
 * (Redis over TCP, a directory and a configuration file need the runtime's entry).
 * On Node, Bun or Deno import `createExporter` from the runtime's entry instead, and on Workers
 * from `/workers`.
 *
 * @example
 * ```ts
 * import { createExporter } from "hono-prometheus-exporter";
 * const exporter = createExporter({ metricsServer: false });
 * await exporter.flush();
 * ```
 */
export function createExporter(options: ExporterOptions = {}): Exporter {
  for (const option of ["multiprocDir", "configFile", "redis"] as const) {
    if (options[option] !== undefined) {
      throw new ConfigError(
        option,
        `needs ${
          option === "redis" ? "TCP sockets" : "a file system"
        }; import createExporter from /node, /bun or /deno`,
      );
    }
  }
  const { upstash } = options;
  return createExporterFor(
    webRuntime,
    options,
    upstash === undefined ? undefined : () => upstashFromEnv(emptyEnv, upstash),
  );
}

export type {
  Exporter,
  ExporterOptions,
  HookContext,
  Hooks,
  Middleware,
  ServerHandle,
} from "./src/core/exporter/api.ts";
export { prometheus, type PrometheusOptions } from "./src/hono/middleware.ts";
export { metricsHandler } from "./src/hono/handler.ts";
export {
  Counter,
  Gauge,
  type GaugeConfiguration,
  Histogram,
  register,
  Registry,
  Summary,
} from "./src/core/values/metrics.ts";
export type { MultiprocessMode } from "./src/core/values/modes.ts";
export { ConfigError, StorageError } from "./src/core/errors.ts";
export type { Logger } from "./src/core/log.ts";
export type {
  MetricDescriptor,
  ProcessRecord,
  ProcessUpdate,
  PublishOutcome,
  Retirement,
  Storage,
  StoredState,
} from "./src/core/storage.ts";
