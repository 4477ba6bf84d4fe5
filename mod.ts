/**
 * hono-prometheus-exporter: Prometheus metrics for Hono apps that run as many processes or
 * isolates, aggregated into one correct `/metrics`.
 *
 * This entry uses Web APIs only; it imports no `node:*` module itself, but prom-client does (on
 * Workers: the `nodejs_compat` flag). Runtime adapters live at `hono-prometheus-exporter/node`,
 * `/bun`, `/deno`, `/workers` (and `/auto`, which picks one); the storage-plugin contract, for
 * backends of your own, at `/storage`.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { createExporter, metricsHandler, prometheus } from "hono-prometheus-exporter";
 *
 * const exporter = createExporter();
 * const app = new Hono();
 * app.use(prometheus({ exporter }));
 * app.get("/metrics", metricsHandler(exporter));
 * app.get("/users/:id", (c) => c.json({ id: c.req.param("id") }));
 * ```
 * @module
 */
import type { Exporter, ExporterOptions } from "./src/core/api/types.ts";
import { createExporterFor } from "./src/adapter/entry/factory.ts";
import { webRuntime } from "./src/core/runtime.ts";
import {
  checkOptions,
  COMMON_OPTIONS,
  HOST_OPTIONS,
  NO_SERVER_OPTIONS,
  TIMER_OPTIONS,
} from "./src/core/config/options.ts";

/**
 * Creates an exporter with only Web APIs (no metrics server, no signals, no process probe, no
 * environment): storage is the `storage` option, else memory. The options of the host entries
 * (a metrics server, signals, a configuration file, a backend chosen from the environment) are
 * not in its type, and a ConfigError that says where they belong when passed anyway. On Node, Bun
 * or Deno import `createExporter` from the runtime's entry instead, and on Workers from `/workers`.
 *
 * @example
 * ```ts
 * import { createExporter } from "hono-prometheus-exporter";
 * const exporter = createExporter({ publishIntervalMs: 1000 });
 * await exporter.flush();
 * ```
 */
export function createExporter(options: ExporterOptions = {}): Exporter {
  checkOptions(options, "createExporter from hono-prometheus-exporter", ROOT_OPTIONS, HOST_ONLY);
  return createExporterFor(webRuntime, options);
}

const ROOT_OPTIONS = [COMMON_OPTIONS, TIMER_OPTIONS, NO_SERVER_OPTIONS];
const HOST_ENTRIES = "import createExporter from hono-prometheus-exporter/node, /bun or /deno";
const HOST_ONLY: Record<string, string> = {
  ...Object.fromEntries(Object.keys(HOST_OPTIONS).map((name) => [name, `needs a metrics server: ${HOST_ENTRIES}`])),
  handleSignals: `needs signals: ${HOST_ENTRIES}`,
  workerMetricsIntervalMs: `needs a process probe (memory, CPU): ${HOST_ENTRIES}`,
  configFile: `needs a file system: ${HOST_ENTRIES}`,
  multiprocDir: `needs a file system: ${HOST_ENTRIES}`,
  redis: `needs TCP sockets: ${HOST_ENTRIES}`,
  upstash: "is read by the runtime entries (/node, /bun, /deno, /workers); here pass storage: " +
    "new UpstashStorage({...}) from hono-prometheus-exporter/upstash",
};

export type {
  Exporter,
  ExporterOptions,
  ForeignRegistry,
  HookContext,
  Hooks,
  HttpNaming,
  Middleware,
  PrometheusOptions,
  ServerHandle,
} from "./src/core/api/types.ts";
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
export type { Storage } from "./src/core/storage.ts";
