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
import type { Exporter } from "./src/core/exporter/exporter.ts";
import { createExporterFor, type CreateExporterOptions } from "./src/core/exporter/create.ts";
import { webRuntime } from "./src/core/runtime.ts";
import { emptyEnv } from "./src/core/env.ts";
import { ConfigError } from "./src/core/errors.ts";
import { upstashFromEnv } from "./src/storage/upstash.ts";

/**
 * Creates an exporter with only Web APIs (no metrics server, no signals, no process probe, no
 * environment): storage is the `storage` option, Upstash with the `upstash` option, else memory.
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
export function createExporter(options: CreateExporterOptions = {}): Exporter {
  for (const option of ["multiprocDir", "configFile"] as const) {
    if (options[option] !== undefined) {
      throw new ConfigError(option, "needs a file system; import createExporter from /node, /bun or /deno");
    }
  }
  const { upstash } = options;
  return createExporterFor(
    webRuntime,
    options,
    upstash === undefined ? undefined : () => upstashFromEnv(emptyEnv, upstash),
  );
}

export type { CreateExporterOptions };
export { Exporter, type ExporterOptions, type ExporterParts } from "./src/core/exporter/exporter.ts";
export { prometheus, type PrometheusOptions } from "./src/hono/middleware.ts";
export { metricsHandler } from "./src/hono/handler.ts";
export { DEFAULT_DURATION_BUCKETS, DEFAULT_SIZE_BUCKETS } from "./src/hono/http_metrics.ts";
export {
  Counter,
  Gauge,
  type GaugeConfiguration,
  Histogram,
  register,
  Registry,
  Summary,
} from "./src/core/values/metrics.ts";
export { DEFAULT_GAUGE_MODE, MULTIPROCESS_MODES, type MultiprocessMode } from "./src/core/values/modes.ts";
export { ConfigError, StorageError } from "./src/core/errors.ts";
export { type ConfigOptions, resolveConfig, type ResolvedConfig } from "./src/core/config.ts";
export { envFromObject, type EnvSource } from "./src/core/env.ts";
export type { Logger } from "./src/core/log.ts";
export type { Hook, HookContext, HookName, Hooks } from "./src/core/exporter/hooks.ts";
export type {
  FetchHandler,
  ProbeSample,
  ProcessProbe,
  Runtime,
  ServeOptions,
  ServerHandle,
} from "./src/core/runtime.ts";
export type {
  MetricDescriptor,
  MetricType,
  ProcessRecord,
  ProcessUpdate,
  PublishOutcome,
  Retirement,
  SeriesMap,
  Storage,
  StoredState,
} from "./src/core/storage.ts";
export { MemoryStorage, type MemoryStorageOptions, sharedMemoryStorage } from "./src/storage/memory.ts";
export {
  contentTypeOf,
  type ExpositionFormat,
  negotiateFormat,
  OPENMETRICS_CONTENT_TYPE,
  PROMETHEUS_CONTENT_TYPE,
} from "./src/core/render/render.ts";

export { Collector, type CollectorEvents, type CollectorOptions } from "./src/core/collect/collector.ts";
export { type ProcessFacts, ProcessIdentity } from "./src/core/publish/identity.ts";
export { Publisher, type PublisherEvents, type PublisherOptions } from "./src/core/publish/publisher.ts";
export { SelfMetrics } from "./src/core/exporter/self_metrics.ts";
export { WorkerMetrics, type WorkerState } from "./src/core/exporter/worker_metrics.ts";
export type { BackoffPolicy } from "./src/core/publish/backoff.ts";
export type { UnrefTimer } from "./src/core/timers.ts";
export type { Distribution, MergedFamily, MergeResult } from "./src/core/collect/merge.ts";
export type { EncodedMetric, Sample, Snapshot } from "./src/core/publish/snapshot.ts";
