/**
 * Deno entry point: `createExporter` with the Deno runtime (metrics server on `Deno.serve`,
 * process probe, signal listeners).
 *
 * @example
 * ```ts
 * import { createExporter } from "hono-prometheus-exporter/deno";
 * const exporter = createExporter({ metricsPort: 0 });
 * await exporter.whenReady();
 * await exporter.onExit();
 * ```
 * @module
 */
import type { Exporter } from "../../core/exporter/exporter.ts";
import type { CreateExporterOptions } from "../../core/exporter/create.ts";
import { createHostExporter } from "../host_exporter.ts";
import { denoRuntime } from "./runtime.ts";

/** Creates an exporter for Deno. */
export function createExporter(options: CreateExporterOptions = {}): Exporter {
  return createHostExporter(denoRuntime(), options);
}

export { denoEnv, denoRuntime, serve } from "./runtime.ts";
export { createParallelExporter } from "./parallel.ts";
export { readConfigFile } from "../config_file.ts";
