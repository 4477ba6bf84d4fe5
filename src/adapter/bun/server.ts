/**
 * The metrics server on `Bun.serve`.
 * @module
 */
import { ConfigError } from "../../core/errors.ts";
import type { TlsFiles } from "../../core/runtime.ts";
import type { FetchHandler, ServerHandle, ServerOptions, TlsMaterial } from "../../core/runtime.ts";
import { handlerFailed, refuseMalformed } from "../../core/serve/malformed.ts";
import { loadTls } from "../entry/tls.ts";

/** The part of Bun's global this adapter uses. */
interface BunGlobal {
  serve(options: {
    port: number;
    hostname: string;
    reusePort?: boolean;
    fetch: FetchHandler;
    error?: (error: Error) => Response;
    tls?: { cert: string; key: string; ca?: string[]; requestCert?: boolean; rejectUnauthorized?: boolean };
  }): {
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
export function serve(handler: FetchHandler, options: ServerOptions): Promise<ServerHandle> {
  try {
    const tls = options.tls;
    const scheme = tls === undefined ? "http" : "https";
    const server = bunGlobal().serve({
      port: options.port,
      hostname: options.hostname,
      reusePort: options.reusePort,
      // Bun hands on a request without a Host, or whose Host makes no URL (its `url` is then a
      // bare path): refused here, as on Node and Deno.
      fetch: (request) => refuseMalformed(request, scheme) ?? handler(request),
      // In place of Bun's HTML error page, which shows the stack and the source.
      error: handlerFailed,
      // Bun verifies client certificates in the handshake (only `required` reaches here).
      tls: tls && {
        cert: tls.cert,
        key: tls.key,
        ca: tls.ca.length > 0 ? [...tls.ca] : undefined,
        requestCert: tls.clientAuth !== "none",
        rejectUnauthorized: tls.clientAuth !== "none",
      },
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

/**
 * {@link loadTls}, and what Bun cannot do: verify a client certificate when one is sent without
 * refusing clients that send none (its TLS options verify in the handshake, all or nothing).
 */
export function loadBunTls(files: TlsFiles): TlsMaterial {
  const material = loadTls(files);
  if (material.clientAuth === "optional") {
    throw new ConfigError(
      "PROMETHEUS_SSL_CLIENT_AUTH_REQUIRED",
      "Bun can verify client certificates only by requiring them: set PROMETHEUS_SSL_CLIENT_AUTH_REQUIRED=true, " +
        "or remove the client CA (PROMETHEUS_SSL_CLIENT_CAFILE/CAPATH)",
    );
  }
  return material;
}
