/**
 * The Workers runtime: configuration from the bindings of the first request, no process probe
 * (the worker gauges are absent, not zero), no metrics server, no signals, no timers between
 * requests. Options it cannot honour are ConfigErrors that name them.
 * @module
 */
import type { EnvSource } from "../../core/env.ts";
import { ConfigError } from "../../core/errors.ts";
import type { CommonOptions, Exporter, NoServerOptions } from "../../core/api/types.ts";
import { checkOptions, COMMON_OPTIONS, NO_SERVER_OPTIONS } from "../../core/config/options.ts";
import type { UpstashStorageOptions } from "../../storage/redis/options.ts";
import { consoleLogger } from "../../core/log.ts";
import type { Runtime } from "../../core/runtime.ts";
import type { Storage, StoragePlace } from "../../core/storage.ts";
import { createExporterFor } from "../entry/factory.ts";
import { chooseStorage, refuseTwoBackends } from "../../storage/drivers.ts";

/** Options of the Workers `createExporter`: those every entry takes, and the Upstash settings. */
export interface WorkersExporterOptions extends CommonOptions, NoServerOptions {
  /**
   * Upstash settings, selecting the Upstash backend (as does an `UPSTASH_REDIS_REST_URL` or
   * `UPSTASH_REDIS_REST_TOKEN` binding, unless `REDIS_ENABLED=false`); unset fields come from the bindings `UPSTASH_REDIS_REST_URL`,
   * `UPSTASH_REDIS_REST_TOKEN`, `REDIS_KEY_PREFIX`, `REDIS_TTL_SECONDS`, `REDIS_TTL_DISABLED`.
   */
  readonly upstash?: UpstashStorageOptions;
}

const WORKERS_OPTIONS = [COMMON_OPTIONS, NO_SERVER_OPTIONS, { upstash: true }] as const;

/** What a host has and an isolate does not: options and bindings that are errors on Workers. */
const HOST_ONLY: Readonly<Record<string, string>> = {
  multiprocDir: "Workers have no file system; share counts through Upstash (an UPSTASH_REDIS_REST_URL binding)",
  metricsPort: "Workers cannot run a metrics server; serve /metrics from the app with metricsHandler",
  bindAddress: "Workers cannot run a metrics server; serve /metrics from the app with metricsHandler",
  metricsServer: "Workers cannot run a metrics server; serve /metrics from the app with metricsHandler",
  serverRetry: "Workers cannot run a metrics server; serve /metrics from the app with metricsHandler",
  handleSignals: "Workers have no signals; an isolate's counts are published after each response",
  workerMetricsIntervalMs: "Workers cannot read an isolate's memory or CPU; there are no worker gauges to sample",
  publishIntervalMs: "Workers run no timers between requests: an isolate publishes after its responses, " +
    "one publish per flushWindowMs",
  shutdownTimeoutMs: "an isolate is never shut down with a signal: its last window's publish is handed to waitUntil",
  tls: "Cloudflare serves your Worker over HTTPS at its edge; lock /metrics with PROMETHEUS_METRICS_TOKEN",
  redis: "Workers cannot hold a TCP connection to Redis across requests; use Upstash (UPSTASH_REDIS_REST_URL)",
  configFile: "Workers have no file system; set the settings as bindings (wrangler.toml [vars], or secrets)",
  remoteWrite: "on Workers the aggregate is pushed from a Cron Trigger: export scheduled: pushOnSchedule(exporter), " +
    "with a PROMETHEUS_REMOTE_WRITE_URL binding",
};
const HOST_ONLY_BINDINGS = {
  PROMETHEUS_MULTIPROC_DIR: HOST_ONLY.multiprocDir,
  PROMETHEUS_METRICS_PORT: HOST_ONLY.metricsPort,
  PROMETHEUS_BIND_ADDRESS: HOST_ONLY.bindAddress,
  PROMETHEUS_SSL_CERTFILE: HOST_ONLY.tls,
  PROMETHEUS_SSL_KEYFILE: HOST_ONLY.tls,
  PROMETHEUS_SSL_CLIENT_CAFILE: HOST_ONLY.tls,
  PROMETHEUS_SSL_CLIENT_CAPATH: HOST_ONLY.tls,
  PROMETHEUS_CONFIG_FILE: HOST_ONLY.configFile,
  REDIS_URL: HOST_ONLY.redis,
  REDIS_HOST: HOST_ONLY.redis,
} as const;

/** The Workers runtime adapter: `env` reads the bindings the first request brings. */
export function workersRuntime(): Runtime & { binding(name: string): unknown } {
  let bindings: Record<string, unknown> = {};
  return {
    name: "workers",
    binding: (name) => bindings[name] ?? undefined,
    edge: true,
    env: (name) => {
      const value = bindings[name];
      return typeof value === "string" ? value : undefined;
    },
    facts: {},
    bindEnv: (given) => {
      if (given !== null && typeof given === "object") bindings = given as Record<string, unknown>;
    },
  };
}

/**
 * Creates an exporter for Cloudflare Workers. Safe at module scope: nothing random, no timer and
 * no I/O happens until the first request.
 *
 * @example
 * ```ts
 * import { createExporter } from "hono-prometheus-exporter/workers";
 * const exporter = createExporter({ flushWindowMs: 1000 });
 * ```
 */
export function createExporter(options: WorkersExporterOptions = {}): Exporter {
  checkOptions(options, "createExporter from hono-prometheus-exporter/workers", WORKERS_OPTIONS, HOST_ONLY);
  refuseTwoBackends(options);
  const runtime = workersRuntime();
  return createExporterFor(
    runtime,
    { ...options, metricsServer: false, handleSignals: false },
    (env) => workersStorage(env, options, runtime.binding),
  );
}

/** What an isolate gives a backend: no files, no TCP held across requests. */
const WORKERS_PLACE: StoragePlace = {
  name: "Workers",
  fileSystem: false,
  tcp: false,
  instead: "share counts through a Durable Object (a PROMETHEUS_METRICS_OBJECT binding of MetricsDurableObject) " +
    "or Upstash (UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN bindings)",
};

/** The one selection rule, with what an isolate cannot run refused; memory (with a warning) when nothing is chosen. */
function workersStorage(
  env: EnvSource,
  options: WorkersExporterOptions,
  binding: (name: string) => unknown,
): Storage | undefined {
  for (const [name, why] of Object.entries(HOST_ONLY_BINDINGS)) {
    if (env(name) !== undefined) throw new ConfigError(name, `is bound, but ${why}`);
  }
  // The objects retire a silent isolate by themselves, after the exporter's deadAfterMs (its default
  // on Workers unless staleAfterMs is raised past a minute).
  const deadAfterMs = options.deadAfterMs ?? Math.max(120_000, 2 * (options.staleAfterMs ?? 0));
  const storage = chooseStorage(env, options, { ...WORKERS_PLACE, binding, deadAfterMs });
  if (storage !== undefined) return storage;
  (options.logger ?? consoleLogger).warn(
    "no PROMETHEUS_METRICS_OBJECT or UPSTASH_REDIS_REST_URL binding: counts stay in each isolate's memory, and " +
      "/metrics shows only the isolate that answers it; bind a MetricsDurableObject as PROMETHEUS_METRICS_OBJECT " +
      "(or UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN) to aggregate",
  );
  return undefined;
}
