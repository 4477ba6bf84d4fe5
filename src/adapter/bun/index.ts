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
import type { AppServer, BunServer, NodeHttpServer } from "../node/app_server.ts";
import { bunRuntime } from "./runtime.ts";
import { serve as serveBun } from "./server.ts";

/** Creates an exporter for Bun. Starts nothing: `whenReady` does. */
export function createExporter(options: HostExporterOptions = {}): Exporter {
  return hostEntryExporter(bunRuntime(), options);
}

/**
 * Runs `main` in supervised workers through Bun's `node:cluster` (see the Node entry's
 * `supervise`); the primary's metrics server runs on `Bun.serve`. `main` starts the app and
 * returns its server: `Bun.serve`'s (with `reusePort: true`, so that the workers share the port),
 * this entry's `serve(..., { reusePort: true })`, or a `node:http` server such as
 * `@hono/node-server`'s (or a promise of one). On SIGINT/SIGTERM each worker stops that server
 * accepting, lets the requests in flight finish (cut after 10 s), then publishes its last values.
 *
 * @param main Starts the app in a worker, given the worker's exporter and slot (`worker_1`...).
 * @param options The host entries' options but `workerId` and `handleSignals`, and the supervisor's.
 * @returns Resolves once the primary supervises, or once the worker's app serves.
 *
 * @example
 * ```ts
 * import { serve, supervise } from "hono-prometheus-exporter/bun";
 * await supervise(() => serve(() => new Response("ok"), { port: 8000, hostname: "0.0.0.0", reusePort: true }));
 * ```
 */
export function supervise(main: WorkerMain, options: SuperviseOptions = {}): Promise<void> {
  return superviseWith((o) => createHostExporter(bunRuntime(), o), main, options);
}

/** Serves `handler` on `Bun.serve`; rejects when it cannot bind. */
export function serve(handler: FetchHandler, options: ServeOptions): Promise<ServerHandle> {
  return serveBun(handler, options);
}

export type { AppServer, BunServer, NodeHttpServer, SuperviseOptions, WorkerMain };
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
