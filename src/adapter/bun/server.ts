/**
 * The metrics server on `Bun.serve`.
 * @module
 */
import type { FetchHandler, ServeOptions, ServerHandle } from "../../core/runtime.ts";

/** The part of Bun's global this adapter uses. */
interface BunGlobal {
  serve(options: { port: number; hostname: string; reusePort?: boolean; fetch: FetchHandler }): {
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
    const server = bunGlobal().serve({
      port: options.port,
      hostname: options.hostname,
      reusePort: options.reusePort,
      fetch: handler,
    });
    return Promise.resolve({
      port: server.port,
      // Graceful: requests in flight finish; after 10 s what is left is cut.
      close: async () => {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const cut = new Promise<void>((resolve) => {
          timer = setTimeout(() => resolve(server.stop(true) as void), 10_000);
        });
        await Promise.race([server.stop(false), cut]);
        clearTimeout(timer);
      },
    });
  } catch (error) {
    return Promise.reject(error);
  }
}
