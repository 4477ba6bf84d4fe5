/**
 * The app wrapper: the same HTTP metrics as the middleware, measured at the app's `fetch`, with no
 * middleware in the chain. Hono serves a route with one handler without composing a chain at all;
 * a middleware, even one that does nothing, costs every request that composition. The wrapper
 * learns the route from Hono's own match (it wraps the app's router, so the match is made once)
 * and the errors from Hono's error handler (`app.onError` keeps working, before or after).
 * @module
 */
import type { Context } from "hono";
import { answeredRoute } from "./route.ts";
import { internals } from "../core/exporter/exporter.ts";
import type { PrometheusOptions } from "../core/api/types.ts";
import type { HttpMetrics } from "./http_metrics.ts";
import { type Marks, noteInner, takeInner } from "./outermost.ts";
import { clock, HttpRecorder } from "./recorder.ts";

/** What one request's match and error handling told. */
interface Seen {
  /** The route pattern of the deepest handler reached, as the middleware's `routePath` sees it. */
  route: string;
  error: unknown;
  handled: boolean;
}

type MatchResult = [Array<[[unknown, { path: string }], unknown]>, ...unknown[]];
interface HonoInternals {
  router: { match(method: string, path: string): MatchResult };
  errorHandler: (error: Error, c: Context) => Response | Promise<Response>;
}

/** The request being dispatched (Hono matches synchronously, at the start of `fetch`). */
let current: Seen | undefined;
/**
 * What Hono's error handler leaves for the wrapper: a property of the request, set only when there
 * is an error (a WeakMap entry, or a property, per request costs more than the request's record).
 */
const FAILED = Symbol("hono-prometheus-exporter.failed");
type WithFailure = Request & { [FAILED]?: { readonly error: Error; readonly route: string } };
const instrumented = new WeakSet<object>();

/**
 * Wraps `app` so that each request is recorded at its `fetch`, with the same metric names, labels
 * and values as `app.use(prometheus({ exporter }))` (a request no route matched has the route
 * `/*`, as under the middleware). Serve the returned function instead of `app.fetch`; call it
 * once per app. A `prometheus()` middleware inside the app adds nothing: each request is recorded
 * once, by the outermost of them.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { createExporter, instrument } from "hono-prometheus-exporter";
 * const exporter = createExporter({ metricsServer: false });
 * const app = new Hono();
 * app.get("/users/:id", (c) => c.json({ id: c.req.param("id") }));
 * export default { fetch: instrument(app, { exporter }) };
 * ```
 */
export function instrument(
  app: { fetch(request: Request, env?: unknown, executionCtx?: unknown): Response | Promise<Response> },
  options: PrometheusOptions,
): (request: Request, env?: unknown, executionCtx?: unknown) => Response | Promise<Response> {
  const hono = app as unknown as HonoInternals;
  if (typeof hono.router?.match !== "function") {
    throw new TypeError("instrument() takes a Hono app (new Hono()); for other apps use the prometheus() middleware");
  }
  if (instrumented.has(app)) throw new TypeError("this app is instrumented already: call instrument() once per app");
  const recorder = new HttpRecorder(
    internals(options?.exporter, "instrument(app, { exporter })"),
    options,
    "instrument",
  );
  instrumented.add(app);
  wrapRouter(hono);
  wrapErrorHandler(hono);
  const fetch = app.fetch;
  const done = (
    metrics: HttpMetrics,
    request: Request,
    seen: Seen,
    started: number,
    response: Response | undefined,
    executionCtx: unknown,
    outermost: boolean,
  ) => finish(recorder, metrics, request, seen, started, response, executionCtx, outermost);
  return (request: Request, env?: unknown, executionCtx?: unknown): Response | Promise<Response> => {
    const metrics = recorder.ready(env);
    if (metrics === undefined) return fetch(request, env, executionCtx);
    // Served from a handler of an app that records this request already: this app only tells it what it saw.
    const marks = request as unknown as Marks;
    const outermost = marks[metrics.recording] === undefined;
    if (outermost) marks[metrics.recording] = true;
    const started = clock.now();
    const seen: Seen = { route: "/*", error: undefined, handled: false };
    current = seen;
    let result: Response | Promise<Response>;
    try {
      result = fetch(request, env, executionCtx);
    } catch (error) {
      seen.error = error ?? new Error("undefined thrown");
      seen.handled = false;
      done(metrics, request, seen, started, undefined, executionCtx, outermost);
      throw error;
    } finally {
      current = undefined;
    }
    if (result instanceof Response) {
      // Hono answered synchronously (a route with one synchronous handler): no promise in between.
      done(metrics, request, seen, started, result, executionCtx, outermost);
      return result;
    }
    return result.then((response) => {
      done(metrics, request, seen, started, response, executionCtx, outermost);
      return response;
    }, (error: unknown) => {
      seen.error = error ?? new Error("undefined thrown");
      seen.handled = false;
      done(metrics, request, seen, started, undefined, executionCtx, outermost);
      throw error;
    });
  };
}

/**
 * The app's router, wrapped: the route of a request with one matched handler is that handler's;
 * with several (the app's own middleware), each handler notes its route when it runs, so the
 * deepest one reached is known, as `routePath` knows it under the middleware.
 */
function wrapRouter(hono: HonoInternals): void {
  const router = hono.router;
  hono.router = Object.assign(Object.create(router), {
    match(method: string, path: string): MatchResult {
      const result = router.match(method, path);
      const seen = current;
      if (seen === undefined) return result;
      current = undefined; // a HEAD request matches once more, as GET: the first match tells
      const handlers = result[0];
      if (handlers.length === 1) {
        seen.route = handlers[0][0][1].path;
        return result;
      }
      if (handlers.length === 0) return result;
      const noted = handlers.map(([[handler, route], params]) => {
        const run = handler as (c: Context, next: () => Promise<void>) => unknown;
        const noting = (c: Context, next: () => Promise<void>) => {
          seen.route = route.path;
          return run(c, next);
        };
        return [[noting, route], params] as [[unknown, { path: string }], unknown];
      });
      return [noted, ...result.slice(1)] as MatchResult;
    },
  });
}

/** Hono's error handler, wrapped (now and whenever `app.onError` sets another): errors are noted. */
function wrapErrorHandler(hono: HonoInternals): void {
  let handler = hono.errorHandler;
  const noting = (error: Error, c: Context) => {
    (c.req.raw as WithFailure)[FAILED] = { error, route: answeredRoute(c) };
    return handler(error, c);
  };
  Object.defineProperty(hono, "errorHandler", {
    configurable: true,
    get: () => noting,
    set: (next: HonoInternals["errorHandler"]) => (handler = next),
  });
}

/**
 * One request's end under `instrument`: what the app's error handler saw is taken in; the
 * outermost recorder records it (with what an inner one noted), an inner one only notes it.
 */
function finish(
  recorder: HttpRecorder,
  metrics: HttpMetrics,
  request: Request,
  seen: Seen,
  started: number,
  response: Response | undefined,
  executionCtx: unknown,
  outermost: boolean,
): void {
  const failure = (request as WithFailure)[FAILED];
  if (failure !== undefined) {
    // As under the middleware: the error handler saw it (`c.error`); what was thrown, if anything, wins.
    seen.error ??= failure.error;
    seen.handled = true;
    seen.route = failure.route || seen.route;
  }
  const marks = request as unknown as Marks;
  const key = metrics.recording;
  if (!outermost) return noteInner(marks, key, seen.route, seen.handled ? seen.error : undefined);
  const inner = takeInner(marks, key);
  if (inner !== undefined) {
    // A sub-app served from one of this app's handlers, with a middleware of its own, saw more.
    seen.route = inner.route || seen.route;
    if (seen.error === undefined && inner.error !== undefined) [seen.error, seen.handled] = [inner.error, true];
  }
  const context = executionCtx === undefined ? undefined : { executionCtx };
  recorder.record(metrics, request, seen.route, started, response, seen.error, seen.handled, context);
}
