/**
 * Bun entry point: `createExporter` with the Bun runtime (metrics server on `Bun.serve`, process
 * probe and signals through Bun's `node:process`), `supervise` and `serve`.
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
import type { Exporter, FetchHandler, ServeOptions, ServerHandle } from "../../core/api/types.ts";
import { createHostExporter, hostEntryExporter, type HostExporterOptions } from "../entry/host_exporter.ts";
import { type SuperviseOptions, superviseWith, type WorkerMain } from "../node/supervisor.ts";
import { bunRuntime } from "./runtime.ts";
import { serve as serveBun } from "./server.ts";

/** Creates an exporter for Bun. Starts nothing: `whenReady` does. */
export function createExporter(options: HostExporterOptions = {}): Exporter {
  return hostEntryExporter(bunRuntime(), options);
}

/**
 * Runs `main` in supervised workers through Bun's `node:cluster` (see the Node entry's
 * `supervise`); the primary's metrics server runs on `Bun.serve`. Workers should listen with
 * `serve(..., { reusePort: true })` so that they share the port.
 */
export function supervise(main: WorkerMain, options: SuperviseOptions = {}): Promise<void> {
  return superviseWith((o) => createHostExporter(bunRuntime(), o), main, options);
}

/** Serves `handler` on `Bun.serve`; rejects when it cannot bind. */
export function serve(handler: FetchHandler, options: ServeOptions): Promise<ServerHandle> {
  return serveBun(handler, options);
}

export type { SuperviseOptions, WorkerMain };
export { readConfigFile } from "../entry/config_file.ts";
export type { FetchHandler, HostExporterOptions, ServeOptions, ServerHandle };
export type { CommonOptions, HostOptions, NoServerOptions, TimerOptions } from "../../core/api/types.ts";
export type { StorageChoice } from "../../storage/drivers.ts";
