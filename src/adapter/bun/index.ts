/**
 * Bun entry point: `createExporter` with the Bun runtime (metrics server on `Bun.serve`, process
 * probe and signals through Bun's `node:process`).
 *
 * @example
 * ```ts
 * import { createExporter } from "hono-prometheus-exporter/bun";
 * const exporter = createExporter({ metricsPort: 0 });
 * await exporter.whenReady();
 * await exporter.onExit();
 * ```
 * @module
 */
import type { Exporter } from "../../core/exporter/exporter.ts";
import type { Runtime } from "../../core/runtime.ts";
import type { CreateExporterOptions } from "../../core/exporter/create.ts";
import { createHostExporter } from "../host_exporter.ts";
import { nodeRuntime } from "../node/runtime.ts";
import { type SuperviseOptions, superviseWith, type WorkerMain } from "../node/supervisor.ts";
import { loadBunTls, serve } from "./server.ts";

/**
 * The Bun runtime adapter.
 *
 * @example
 * ```ts
 * import { bunRuntime } from "hono-prometheus-exporter/bun";
 * console.log(bunRuntime().name); // "bun"
 * ```
 */
export function bunRuntime(): Runtime {
  // Bun implements node:process and node:os, so only the server differs from Node.
  return { ...nodeRuntime(), name: "bun", serve, loadTls: loadBunTls };
}

/** Creates an exporter for Bun. */
export function createExporter(options: CreateExporterOptions = {}): Exporter {
  return createHostExporter(bunRuntime(), options);
}

export { serve };

/**
 * Runs `main` in supervised workers through Bun's `node:cluster` (see the Node adapter's
 * `supervise`); the primary's metrics server runs on `Bun.serve`. Workers should listen with
 * `serve(..., { reusePort: true })` so that they share the port.
 */
export function supervise(main: WorkerMain, options: SuperviseOptions = {}): Promise<void> {
  return superviseWith(createExporter, main, options);
}
export { readConfigFile } from "../config_file.ts";
