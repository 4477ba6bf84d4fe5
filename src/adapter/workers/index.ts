/**
 * Cloudflare Workers entry point: configuration from the `env` bindings, no process probe (the
 * worker gauges are absent, not zero), no metrics server (serve `/metrics` from the app).
 *
 * @example
 * ```ts
 * import { createExporter } from "hono-prometheus-exporter/workers";
 * const exporter = createExporter({}, { PROMETHEUS_METRICS_SERVER: "false" });
 * await exporter.flush();
 * ```
 * @module
 */
import type { Exporter } from "../../core/exporter.ts";
import { envFromObject } from "../../core/env.ts";
import type { Runtime } from "../../core/runtime.ts";
import { createExporterFor, type CreateExporterOptions } from "../../create.ts";

/** The Workers runtime adapter over the `env` bindings object. */
export function workersRuntime(env: Readonly<Record<string, unknown>> = {}): Runtime {
  return { name: "workers", env: envFromObject(env), facts: {} };
}

/** Creates an exporter for Cloudflare Workers, configured from the `env` bindings. */
export function createExporter(
  options: CreateExporterOptions = {},
  env: Readonly<Record<string, unknown>> = {},
): Exporter {
  return createExporterFor(workersRuntime(env), { metricsServer: false, handleSignals: false, ...options });
}
