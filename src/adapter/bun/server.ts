/**
 * The metrics server on `Bun.serve`.
 * @module
 */
import type { FetchHandler, ServeOptions, ServerHandle } from "../../core/runtime.ts";

/** The part of Bun's global this adapter uses. */
interface BunGlobal {
  serve(options: { port: number; hostname: string; fetch: FetchHandler }): {
    readonly port: number;
    stop(closeActiveConnections?: boolean): Promise<void> | void;
  };
}

/** Bun's global, typed for this adapter (no dependency on bun-types). */
export function bunGlobal(): BunGlobal {
  const bun = (globalThis as { Bun?: BunGlobal }).Bun;
  if (bun === undefined) {
    throw new Error("the bun adapter needs the Bun runtime; import the adapter of the runtime you run on");
  }
  return bun;
}

/**
 * Listens with `Bun.serve`. Rejects when it cannot bind.
 *
 * @example
 * ```ts
 * import { serve } from "hono-prometheus-exporter/bun";
 * const server = await serve(() => new Response("ok"), { port: 0, hostname: "127.0.0.1" });
 * await server.close();
 * ```
 */
export function serve(handler: FetchHandler, options: ServeOptions): Promise<ServerHandle> {
  try {
    const server = bunGlobal().serve({ port: options.port, hostname: options.hostname, fetch: handler });
    return Promise.resolve({
      port: server.port,
      close: async () => {
        await server.stop(true);
      },
    });
  } catch (error) {
    return Promise.reject(error);
  }
}
