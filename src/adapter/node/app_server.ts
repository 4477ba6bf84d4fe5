/**
 * The app's server as `supervise`'s main returns it (`node:http`, `@hono/node-server`, `Bun.serve`
 * or this package's `serve`), and how a worker drains it before its last publish: stop accepting,
 * let the requests in flight finish (so they are recorded), cut what is left after a deadline.
 * The types are structural: what those servers have, no dependency on their libraries' types.
 * @module
 */
import type { ServerHandle } from "../../core/api/types.ts";

/**
 * A `node:http` or `node:https` server, as `http.createServer` and `@hono/node-server`'s `serve`
 * return it (its HTTP/2 servers too).
 */
export interface NodeHttpServer {
  /** Stops accepting connections; calls back once the open ones have ended. */
  close(callback?: (error?: Error) => void): unknown;
  /** Closes the connections that carry no request (`node:http`; not HTTP/2). */
  closeIdleConnections?(): void;
  /** Closes every connection, requests in flight included (`node:http`; not HTTP/2). */
  closeAllConnections?(): void;
}

/** A server `Bun.serve` returned. */
export interface BunServer {
  /** Stops accepting; with `true`, also ends the requests in flight. */
  stop(closeActiveConnections?: boolean): Promise<void> | void;
}

/** The app's server, as `supervise`'s main may return it: this package's `serve`, `node:http`'s or `Bun.serve`'s. */
export type AppServer = ServerHandle | NodeHttpServer | BunServer;

/** How long requests in flight may take to finish before their connections are cut (as `serve`'s `close` does). */
const CUT_AFTER_MS = 10_000;
/** How often a closing `node:http` server drops the kept-alive connections that fell idle. */
const IDLE_SWEEP_MS = 50;

/** Stops `server` accepting, waits for its requests in flight, and cuts what is left after `cutAfterMs`. */
export async function drain(server: AppServer, cutAfterMs: number = CUT_AFTER_MS): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const cut = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      cutConnections(server);
      resolve();
    }, cutAfterMs);
  });
  try {
    await Promise.race([stopAccepting(server), cut]);
  } finally {
    clearTimeout(timer);
  }
}

function isBunServer(server: AppServer): server is BunServer {
  return typeof (server as Partial<BunServer>).stop === "function";
}

function stopAccepting(server: AppServer): Promise<void> {
  if (isBunServer(server)) return Promise.resolve(server.stop(false));
  return new Promise((resolve, reject) => {
    // node:http calls back (with an error only when it was not listening: nothing to wait for);
    // this package's close ignores the callback and returns a promise.
    const closing = server.close(() => resolve());
    if (typeof (closing as Partial<PromiseLike<void>> | undefined)?.then === "function") {
      (closing as PromiseLike<void>).then(resolve, reject);
    } else {
      closeKeptAlive(server as NodeHttpServer);
    }
  });
}

/**
 * `close` waits for every connection, and a kept-alive one stays open after its last answer: such
 * a connection is dropped once idle, and a request that still arrives on one is answered with
 * `connection: close`.
 */
export function closeKeptAlive(server: NodeHttpServer): void {
  const closeIdle = server.closeIdleConnections?.bind(server);
  if (closeIdle === undefined) return;
  const events = server as Partial<Listening>;
  events.prependListener?.("request", (_request, response) => {
    if (!response.headersSent) response.setHeader("connection", "close");
  });
  closeIdle();
  const sweep = setInterval(closeIdle, IDLE_SWEEP_MS);
  events.once?.("close", () => clearInterval(sweep));
}

/** The part of a `node:http` server's events the drain listens to. */
interface Listening {
  prependListener(
    event: "request",
    listener: (
      request: unknown,
      response: { headersSent: boolean; setHeader(name: string, value: string): void },
    ) => void,
  ): unknown;
  once(event: "close", listener: () => void): unknown;
}

function cutConnections(server: AppServer): void {
  if (isBunServer(server)) void Promise.resolve(server.stop(true)).catch(() => {});
  else (server as NodeHttpServer).closeAllConnections?.();
}
