/**
 * Node.js entry point: `createExporter` with the Node runtime (metrics server on `node:http`,
 * process probe, signal handling).
 *
 * @example
 * ```ts
 * import { createExporter } from "hono-prometheus-exporter/node";
 * const exporter = createExporter({ metricsPort: 0 });
 * await exporter.whenReady();
 * await exporter.onExit();
 * ```
 * @module
 */
import type { Exporter } from "../../core/exporter/exporter.ts";
import type { CreateExporterOptions } from "../../core/exporter/create.ts";
import { createHostExporter } from "../host_exporter.ts";
import { nodeRuntime } from "./runtime.ts";

/** Creates an exporter for Node.js. */
export function createExporter(options: CreateExporterOptions = {}): Exporter {
  return createHostExporter(nodeRuntime(), options);
}

export { nodeRuntime, processProbe } from "./runtime.ts";
export { serve } from "./server.ts";
export { supervise, type SuperviseOptions, superviseWith, type WorkerMain } from "./supervisor.ts";
export { readConfigFile } from "../config_file.ts";
