/**
 * Picks the adapter of the host runtime this code runs on (Deno, Bun, else Node), for code that
 * must run unchanged on all three, like the examples. Same shape as every other entry:
 * `createExporter` is synchronous and starts nothing.
 *
 * @example
 * ```ts
 * import { createExporter } from "hono-prometheus-exporter/auto";
 * const exporter = createExporter({ metricsPort: 0 });
 * await exporter.whenReady();
 * await exporter.onExit();
 * ```
 * @module
 */
import type { Exporter, FetchHandler, ServeOptions, ServerHandle } from "../core/api/types.ts";
import { hostEntryExporter, type HostExporterOptions } from "./entry/host_exporter.ts";
import { hostRuntime, runtimeName } from "./host_runtime.ts";

export { runtimeName };

/** Creates an exporter for the runtime this code runs on. Starts nothing: `whenReady` does. */
export function createExporter(options: HostExporterOptions = {}): Exporter {
  return hostEntryExporter(hostRuntime(), options);
}

/** Serves `handler` with the runtime's own server. Rejects when it cannot bind. */
export function serve(handler: FetchHandler, options: ServeOptions): Promise<ServerHandle> {
  return hostRuntime().serve!(handler, options);
}
export type { FetchHandler, HostExporterOptions, ServeOptions, ServerHandle };
export type { StorageChoice } from "../storage/drivers.ts";
