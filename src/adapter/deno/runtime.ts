/**
 * The Deno runtime: `Deno.env` (a missing `--allow-env` falls back to defaults with one warning),
 * `Deno.memoryUsage`, CPU time through Deno's `node:process`, `Deno.serve`, signal listeners and
 * `Deno.unrefTimer`.
 * @module
 */
import { ConfigError } from "../../core/errors.ts";
import process from "node:process";
import type { EnvSource } from "../../core/env.ts";
import type { FetchHandler, Runtime, ServerHandle, ServerOptions } from "../../core/runtime.ts";
import { handlerFailed, refuseMalformed } from "../../core/serve/malformed.ts";
import { serve as serveNode } from "../node/server.ts";
import { loadTls } from "../entry/tls.ts";
import { otherPromClient } from "../entry/prom_client_copy.ts";
import { denoGlobal } from "./deno.ts";

/** Reads `Deno.env`; without the env permission, answers undefined and warns once. */
export function denoEnv(warn: (message: string) => void = console.warn): EnvSource {
  let warned = false;
  return (name) => {
    try {
      return denoGlobal().env.get(name);
    } catch (error) {
      if (!warned) {
        warned = true;
        warn(
          `[hono-prometheus-exporter] cannot read environment variables (${(error as Error).name}); ` +
            `using defaults. Run with --allow-env to configure through the environment.`,
        );
      }
      return undefined;
    }
  };
}

/**
 * Listens with `Deno.serve`. Rejects when it cannot bind.
 *
 * @example
 * ```ts
 * import { serve } from "hono-prometheus-exporter/deno";
 * const server = await serve(() => new Response("ok"), { port: 0, hostname: "127.0.0.1" });
 * await server.close();
 * ```
 */
export function serve(handler: FetchHandler, options: ServerOptions): Promise<ServerHandle> {
  if (options.reusePort) {
    return Promise.reject(
      new ConfigError(
        "reusePort",
        "Deno shares a port only under --unstable-net; run the isolates with deno serve --parallel",
      ),
    );
  }
  // Deno.serve cannot ask for client certificates; Deno's node:https can (it hands them over, and
  // the Node adapter's server checks them), so HTTPS goes through it.
  if (options.tls !== undefined) return serveNode(handler, options);
  try {
    const server = denoGlobal().serve(
      { port: options.port, hostname: options.hostname, onListen: () => {}, onError: handlerFailed },
      // Deno hands on a request without a Host (its `url` then names the listening address) or
      // whose target names another host: refused here, as on Node and Bun.
      (request) => refuseMalformed(request, "http") ?? handler(request),
    );
    return Promise.resolve({ port: server.addr.port, close: () => server.shutdown() });
  } catch (error) {
    return Promise.reject(error);
  }
}

/** The Deno runtime adapter. */
export function denoRuntime(): Runtime {
  const deno = denoGlobal();
  let host: string | undefined;
  try {
    host = deno.hostname();
  } catch {
    host = undefined; // no --allow-sys: the identity still has its random part
  }
  return {
    name: "deno",
    env: denoEnv(),
    facts: { hostname: host, pid: deno.pid },
    probe: {
      sample() {
        const cpu = process.cpuUsage();
        return { rssBytes: deno.memoryUsage().rss, cpuMicros: cpu.user + cpu.system, uptimeSeconds: process.uptime() };
      },
    },
    serve,
    unrefTimer: (handle) => deno.unrefTimer(handle as unknown as number),
    onShutdownSignal: (listener) => {
      const handlers = (["SIGINT", "SIGTERM"] as const).map((signal) => {
        const handler = () => listener(signal, undefined); // Deno cannot tell who else listens
        deno.addSignalListener(signal, handler);
        return [signal, handler] as const;
      });
      return () => {
        for (const [signal, handler] of handlers) deno.removeSignalListener(signal, handler);
      };
    },
    exit: (code) => deno.exit(code),
    loadTls,
    otherPromClient,
  };
}
