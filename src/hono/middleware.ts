/**
 * The Hono middleware: records the HTTP metrics of each request into local values, synchronously,
 * once however many of our middlewares the request passes (the outermost records it). It never
 * awaits storage and never throws because of metrics; publishing happens elsewhere.
 * @module
 */
import type { Context } from "hono";
import type { Middleware, PrometheusOptions } from "../core/api/types.ts";
import { internals } from "../core/exporter/exporter.ts";
import { type Marks, noteInner, takeInner } from "./outermost.ts";
import { clock, HttpRecorder } from "./recorder.ts";
import { answeredRoute } from "./route.ts";

export type { PrometheusOptions };

/**
 * Creates the middleware that records HTTP metrics: requests, duration, sizes, failures and
 * errors, labelled by method, matched route pattern (`/users/:id`, never the raw path) and status.
 * A request that passes several (on the app and on a sub-app, or under `instrument`) is recorded
 * once, by the outermost, with the route the innermost matched.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { createExporter, prometheus } from "hono-prometheus-exporter";
 * const exporter = createExporter({ metricsServer: false });
 * const app = new Hono();
 * app.use(prometheus({ exporter }));
 * app.get("/users/:id", (c) => c.json({ id: c.req.param("id") }));
 * ```
 */
export function prometheus(options: PrometheusOptions): Middleware {
  const exporter = internals(options?.exporter, "app.use(prometheus({ exporter }))");
  const recorder = new HttpRecorder(exporter, options, "prometheus");
  return async function prometheusMiddleware(context, next) {
    const c = context as Context;
    const metrics = recorder.ready(c.env);
    if (metrics === undefined) return await next();
    const request = c.req.raw;
    const marks = request as unknown as Marks;
    const key = metrics.recording;
    if (marks[key] !== undefined) {
      // An outer recorder records this request: leave it what this app saw.
      await next();
      return noteInner(marks, key, answeredRoute(c), c.error);
    }
    marks[key] = true;
    const started = clock.now();
    let thrown: unknown;
    try {
      await next();
    } catch (error) {
      thrown = error ?? new Error("undefined thrown");
      throw error;
    } finally {
      const inner = takeInner(marks, key);
      const caught = c.error ?? inner?.error;
      recorder.record(
        metrics,
        request,
        inner?.route || answeredRoute(c) || "unmatched",
        started,
        thrown === undefined ? c.res : undefined,
        thrown ?? caught,
        caught !== undefined,
        c,
      );
    }
  };
}
