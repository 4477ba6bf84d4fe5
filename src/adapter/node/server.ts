/**
 * A small HTTP server on `node:http` that runs a Fetch-style handler: enough for the metrics
 * server and for examples; not a general-purpose replacement for `@hono/node-server`.
 * @module
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { TLSSocket } from "node:tls";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { reportMalformedRequest } from "../../core/serve/malformed.ts";
import type { FetchHandler, ServerHandle, ServerOptions } from "../../core/runtime.ts";
import { refuseClient } from "../tls.ts";

/**
 * Listens on `options.port` and answers each request with `handler`. Rejects when it cannot bind.
 *
 * @example
 * ```ts
 * import { serve } from "hono-prometheus-exporter/node";
 * const server = await serve(() => new Response("ok"), { port: 0, hostname: "127.0.0.1" });
 * await server.close();
 * ```
 */
export function serve(handler: FetchHandler, options: ServerOptions): Promise<ServerHandle> {
  const tls = options.tls;
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    if (tls !== undefined && tls.clientAuth !== "none") {
      // Client certificates are asked for but checked here, per request, so that Node (which
      // verifies them) and Deno (which only hands them over) refuse the same clients the same way.
      const socket = req.socket as TLSSocket;
      const refusal = refuseClient(tls, socket.getPeerCertificate?.(true), socket.authorized === true);
      if (refusal !== undefined) {
        res.writeHead(403, { "content-type": "text/plain", connection: "close" });
        res.end(`Forbidden: ${refusal}\n`);
        return;
      }
    }
    answer(handler, req, res, options.hostname).catch((error) => {
      // The cause goes to the log, never to the client.
      console.error(`[hono-prometheus-exporter] serve: the handler failed: ${String(error)}`);
      if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
      res.end("Internal Server Error\n");
    });
  };
  const server = tls === undefined ? createServer(listener) : createHttpsServer({
    cert: tls.cert,
    key: tls.key,
    ca: tls.ca.length > 0 ? [...tls.ca] : undefined,
    requestCert: tls.clientAuth !== "none",
    rejectUnauthorized: false,
  }, listener);
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.hostname, () => {
      server.off("error", reject);
      resolve({
        port: (server.address() as AddressInfo).port,
        // Graceful: stop accepting, let requests in flight finish, then cut what is left.
        close: () =>
          new Promise<void>((done) => {
            const force = setTimeout(() => server.closeAllConnections(), 10_000);
            server.close(() => {
              clearTimeout(force);
              done();
            });
            server.closeIdleConnections();
          }),
      });
    });
  });
}

async function answer(
  handler: FetchHandler,
  req: IncomingMessage,
  res: ServerResponse,
  hostname: string,
): Promise<void> {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (Array.isArray(value)) { for (const v of value) headers.append(name, v); }
    else if (value !== undefined) headers.set(name, value);
  }
  let url: URL;
  try {
    const scheme = (req.socket as Partial<TLSSocket>).encrypted ? "https" : "http";
    url = new URL(`${scheme}://${req.headers.host ?? hostname}${req.url ?? "/"}`);
  } catch {
    // A Host or a target that makes no URL: the client's fault (400), counted, never the app's.
    reportMalformedRequest(req.method ?? "GET");
    res.writeHead(400, { "content-type": "text/plain", connection: "close" });
    res.end("Bad Request: the Host header or the request target is not a valid URL\n");
    return;
  }
  const hasBody = req.method !== "GET" && req.method !== "HEAD";
  const request = new Request(url, {
    method: req.method,
    headers,
    body: hasBody ? (Readable.toWeb(req) as ReadableStream<Uint8Array>) : undefined,
    // @ts-ignore: Node's fetch needs duplex for a streamed body; the DOM types do not know it.
    duplex: hasBody ? "half" : undefined,
  });
  const response = await handler(request);
  const outHeaders: Record<string, string | string[]> = {};
  response.headers.forEach((value, name) => {
    outHeaders[name] = name === "set-cookie" ? response.headers.getSetCookie() : value;
  });
  const body = req.method === "HEAD" || response.body === null
    ? undefined
    : new Uint8Array(await response.arrayBuffer());
  if (body !== undefined && !("content-length" in outHeaders)) outHeaders["content-length"] = String(body.byteLength);
  res.writeHead(response.status, outHeaders);
  res.end(body);
}
