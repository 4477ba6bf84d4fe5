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
import { ConfigError } from "./src/core/errors.ts";

/**
 * Creates an exporter with only Web APIs (no metrics server, no signals, no process probe, no
 * environment): storage is the `storage` option, else memory. Options that choose a backend from
 * the environment (`upstash`, `redis`, `multiprocDir`) and `configFile` belong to the runtime's entry.
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
  const refused = {
    multiprocDir: "needs a file system; import createExporter from /node, /bun or /deno",
    configFile: "needs a file system; import createExporter from /node, /bun or /deno",
    redis: "needs TCP sockets; import createExporter from /node, /bun or /deno",
    upstash: "is read by the runtime entries (/node, /bun, /deno, /workers); here pass storage: " +
      "new UpstashStorage({...}) from hono-prometheus-exporter/upstash",
  } as const;
  for (const [option, why] of Object.entries(refused)) {
    if (options[option as keyof typeof refused] !== undefined) throw new ConfigError(option, why);
  }
  return createExporterFor(webRuntime, options);
}

export type {
  Exporter,
  ExporterOptions,
  HookContext,
  Hooks,
  HttpNaming,
  Middleware,
  PrometheusOptions,
  ServerHandle,
} from "./src/core/exporter/api.ts";
export { prometheus } from "./src/hono/middleware.ts";
export { metricsHandler } from "./src/hono/handler.ts";
export { instrument } from "./src/hono/instrument.ts";
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
  Expectation,
  MetricDescriptor,
  ProcessRecord,
  ProcessUpdate,
  PublishOutcome,
  Restoration,
  Restored,
  RetiredTotal,
  Retirement,
  Storage,
  StoredState,
} from "./src/core/storage.ts";
