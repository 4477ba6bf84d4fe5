/**
 * Deno entry point: `createExporter` with the Deno runtime (metrics server on `Deno.serve`,
 * process probe, signal listeners), `createParallelExporter` for `deno serve --parallel`, and `serve`.
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
import type { Exporter, FetchHandler, ServeOptions, ServerHandle } from "../../core/api/types.ts";
import { hostEntryExporter, type HostExporterOptions } from "../entry/host_exporter.ts";
import { denoRuntime, serve as serveDeno } from "./runtime.ts";

/** Creates an exporter for Deno. Starts nothing: `whenReady` does. */
export function createExporter(options: HostExporterOptions = {}): Exporter {
  return hostEntryExporter(denoRuntime(), options);
}

/** Serves `handler` on `Deno.serve`; rejects when it cannot bind. */
export function serve(handler: FetchHandler, options: Omit<ServeOptions, "reusePort">): Promise<ServerHandle> {
  return serveDeno(handler, options);
}

export { createParallelExporter, type ParallelExporterOptions } from "./parallel.ts";
export { readConfigFile } from "../entry/config_file.ts";
export type { FetchHandler, HostExporterOptions, ServeOptions, ServerHandle };
export type {
  CommonOptions,
  HostOptions,
  NoServerOptions,
  RemoteWriteOptions,
  TimerOptions,
} from "../../core/api/types.ts";
export type { StorageChoice } from "../../storage/drivers.ts";
