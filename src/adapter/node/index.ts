/**
 * Node.js entry point: `createExporter` with the Node runtime (metrics server on `node:http`,
 * process probe, signal handling), `supervise` (gunicorn's arbiter on `node:cluster`) and `serve`.
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
import type { Exporter, FetchHandler, ServeOptions, ServerHandle } from "../../core/api/types.ts";
import { createHostExporter, hostEntryExporter, type HostExporterOptions } from "../entry/host_exporter.ts";
import { nodeRuntime } from "./runtime.ts";
import { serve as serveNode } from "./server.ts";
import { type SuperviseOptions, superviseWith, type WorkerMain } from "./supervisor.ts";
import type { AppServer, BunServer, NodeHttpServer } from "./app_server.ts";

/** Creates an exporter for Node.js. Starts nothing: `whenReady` does. */
export function createExporter(options: HostExporterOptions = {}): Exporter {
  return hostEntryExporter(nodeRuntime(), options);
}

/**
 * Runs `main` in supervised workers through `node:cluster`. Call it at the top level of the app's
 * entry file: in the primary it forks and supervises; in a worker it runs `main`, which starts the
 * app and returns its server: `@hono/node-server`'s `serve`, a `node:http` server or this entry's
 * `serve` (or a promise of one). On SIGINT/SIGTERM each worker stops that server accepting, lets
 * the requests in flight finish (cut after 10 s), then publishes its last values.
 *
 * @param main Starts the app in a worker, given the worker's exporter and slot (`worker_1`...).
 * @param options The host entries' options but `workerId` and `handleSignals`, and the supervisor's.
 * @returns Resolves once the primary supervises, or once the worker's app serves.
 *
 * @example With this entry's `serve`
 * ```ts
 * import { serve, supervise } from "hono-prometheus-exporter/node";
 * await supervise(() => serve(() => new Response("ok"), { port: 8000, hostname: "0.0.0.0" }), { workers: 2 });
 * ```
 *
 * @example With a `node:http` server (`@hono/node-server`'s `serve` returns one too)
 * ```ts
 * import { createServer } from "node:http";
 * import { supervise } from "hono-prometheus-exporter/node";
 * await supervise(() => createServer((_request, response) => response.end("ok")).listen(8000));
 * ```
 */
export function supervise(main: WorkerMain, options: SuperviseOptions = {}): Promise<void> {
  return superviseWith((o) => createHostExporter(nodeRuntime(), o), main, options);
}

/**
 * Serves `handler` on `node:http`; rejects when it cannot bind.
 *
 * @example
 * ```ts
 * import { serve } from "hono-prometheus-exporter/node";
 * const server = await serve(() => new Response("ok"), { port: 0, hostname: "127.0.0.1" });
 * await server.close();
 * ```
 */
export function serve(handler: FetchHandler, options: Omit<ServeOptions, "reusePort">): Promise<ServerHandle> {
  return serveNode(handler, options);
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
