/**
 * Requests so malformed that no app can see them (no Host, a Host that makes no URL, a target of
 * another host): every runtime adapter's `serve` applies the one rule here before its handler
 * runs, answers them a plain 400 itself, and tells the HTTP metrics, so that they are counted like
 * any other request (route `malformed`). A handler that throws gets a plain 500, never a runtime's
 * error page.
 * @module
 */

/** The content type of every plain answer of the servers. */
export const PLAIN = "text/plain; charset=utf-8";

/** Told of each malformed request, with its method. */
export type MalformedRequestListener = (method: string) => void;

const listeners = new Set<MalformedRequestListener>();

/** Registers `listener`; returns the function that removes it. */
export function onMalformedRequest(listener: MalformedRequestListener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Tells every listener of one malformed request. A listener that throws is skipped. */
export function reportMalformedRequest(method: string): void {
  for (const listener of listeners) {
    try {
      listener(method);
    } catch {
      // Counting must never fail the answer.
    }
  }
}

/** RFC 3986's host (a name, an IPv4 address or a bracketed IPv6 one) and an optional port: no user, path or space. */
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]+)(?::\d{1,5})?$/;

/**
 * The URL of a request as it came off the wire, or why it has none: no Host header, a Host that
 * is not a host and port, or a target that is neither a path nor a URL of that host. Every
 * runtime's server asks this before the handler runs, so that Node, Bun and Deno refuse the same
 * requests; the `target` is the raw one (Node) or the URL the runtime made of it (Bun, Deno).
 */
export function requestUrl(host: string | null | undefined, target: string, scheme: "http" | "https"): URL | string {
  if (host === undefined || host === null) return "the request has no Host header";
  let origin: string;
  try {
    if (!HOST.test(host)) throw new TypeError(host);
    origin = new URL(`${scheme}://${host}`).origin;
  } catch {
    return "the Host header is not a host name with an optional port";
  }
  let url: URL;
  try {
    // Joined as text, so that a target such as `//other/x` stays a path of this host.
    url = new URL(target.startsWith("/") ? `${origin}${target}` : target);
  } catch {
    return "the request target is not a path";
  }
  if (url.origin !== origin) return "the request target is a URL of another host than the Host header names";
  if (url.username !== "" || url.password !== "") return "the request target carries user credentials";
  return url;
}

/**
 * What Bun's and Deno's servers answer before the handler runs: a plain 400, counted under route
 * `malformed`, for a request that {@link requestUrl} refuses; undefined for the others.
 */
export function refuseMalformed(request: Request, scheme: "http" | "https"): Response | undefined {
  const url = requestUrl(request.headers.get("host"), request.url, scheme);
  if (typeof url !== "string") return undefined;
  reportMalformedRequest(request.method);
  return new Response(`Bad Request: ${url}\n`, {
    status: 400,
    headers: { "content-type": PLAIN, connection: "close" },
  });
}

/** What every runtime's server answers when the handler throws: a plain 500; the cause goes to the log only. */
export function handlerFailed(error: unknown): Response {
  logHandlerFailure(error);
  return new Response("Internal Server Error\n", { status: 500, headers: { "content-type": PLAIN } });
}

/** Says in the log that a server's handler failed (its answer says nothing of the cause). */
export function logHandlerFailure(error: unknown): void {
  console.error(`[hono-prometheus-exporter] serve: the handler failed: ${String(error)}`);
}
