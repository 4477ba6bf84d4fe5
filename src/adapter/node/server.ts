/**
 * A small HTTP server on `node:http` that runs a Fetch-style handler: enough for the metrics
 * server and for examples; not a general-purpose replacement for `@hono/node-server`. Also the
 * rule every runtime's server applies before its handler runs ({@link requestUrl}): a request
 * without a usable Host or path is answered a plain 400, and a handler that throws a plain 500.
 * @module
 */
import { ConfigError } from "../../core/errors.ts";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { TLSSocket } from "node:tls";
import type { AddressInfo, Socket } from "node:net";
import { Buffer } from "node:buffer";
import { Readable } from "node:stream";
import { logHandlerFailure, PLAIN, reportMalformedRequest, requestUrl } from "../../core/serve/malformed.ts";
import type { FetchHandler, ServerHandle, ServerOptions } from "../../core/runtime.ts";
import { refuseClient } from "../entry/tls.ts";
import { closeKeptAlive } from "./app_server.ts";

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
  if (options.reusePort) {
    return Promise.reject(
      new ConfigError(
        "reusePort",
        "Node's node:http cannot share a port between processes; run the workers under supervise (node:cluster shares the port)",
      ),
    );
  }
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
    answer(handler, req, res).catch((error) => {
      logHandlerFailure(error);
      if (!res.headersSent) res.writeHead(500, { "content-type": PLAIN });
      res.end("Internal Server Error\n");
    });
  };
  // Host-less requests reach `answer`, which refuses them in plain text and counts them.
  const server = tls === undefined ? createServer({ requireHostHeader: false }, listener) : createHttpsServer({
    cert: tls.cert,
    key: tls.key,
    ca: tls.ca.length > 0 ? [...tls.ca] : undefined,
    requestCert: tls.clientAuth !== "none",
    rejectUnauthorized: false,
    requireHostHeader: false,
  }, listener);
  server.on("clientError", refuseUnparsable);
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.hostname, () => {
      server.off("error", reject);
      resolve({
        port: (server.address() as AddressInfo).port,
        // Graceful: stop accepting, let requests in flight finish, then cut what is left. A
        // kept-alive connection is not given another request to serve (a client that keeps one
        // busy would keep the server open, answering past its last publish).
        close: () =>
          new Promise<void>((done) => {
            const force = setTimeout(() => server.closeAllConnections(), 10_000);
            server.close(() => {
              clearTimeout(force);
              done();
            });
            closeKeptAlive(server);
          }),
      });
    });
  });
}

async function answer(handler: FetchHandler, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (Array.isArray(value)) { for (const v of value) headers.append(name, v); }
    else if (value !== undefined) headers.set(name, value);
  }
  const scheme = (req.socket as Partial<TLSSocket>).encrypted ? "https" : "http";
  const url = requestUrl(req.headers.host, req.url ?? "/", scheme);
  if (typeof url === "string") {
    // The client's fault (400), counted, never the app's.
    reportMalformedRequest(req.method ?? "GET");
    return refuse(res, 400, `Bad Request: ${url}\n`);
  }
  if (UNREPRESENTABLE_METHODS.has(req.method ?? "")) {
    // The Fetch API cannot carry these methods; Bun and Deno hand them to the handler.
    return refuse(res, 501, `Not Implemented: the ${req.method} method is not served\n`);
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

function refuse(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { "content-type": PLAIN, "content-length": Buffer.byteLength(text), connection: "close" });
  res.end(text);
}

/** Methods a Fetch `Request` refuses to carry (CONNECT never reaches a request listener). */
const UNREPRESENTABLE_METHODS = new Set(["TRACE", "TRACK"]);

/**
 * Bytes the HTTP parser refused, before there was a request to count: a plain answer in place of
 * Node's bare one (Bun and Deno answer these themselves, with no body).
 */
function refuseUnparsable(error: Error & { code?: string }, duplex: unknown): void {
  const socket = duplex as Socket;
  if (!socket.writable || socket.bytesWritten > 0 || error.code === "ECONNRESET") {
    socket.destroy();
    return;
  }
  const [status, body] = error.code === "HPE_HEADER_OVERFLOW"
    ? ["431 Request Header Fields Too Large", "Request Header Fields Too Large: the headers are too long\n"]
    : error.code === "ERR_HTTP_REQUEST_TIMEOUT"
    ? ["408 Request Timeout", "Request Timeout\n"]
    : ["400 Bad Request", "Bad Request: the request is not valid HTTP/1.1\n"];
  socket.end(
    `HTTP/1.1 ${status}\r\ncontent-type: ${PLAIN}\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`,
  );
}
