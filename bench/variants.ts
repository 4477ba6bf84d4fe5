/** The middleware variants the HTTP and in-process benchmarks compare, applied to one app. */
import type { Hono, MiddlewareHandler } from "hono";
import { prometheus as honoPrometheus } from "@hono/prometheus";
import { type Exporter, instrument, prometheus } from "../mod.ts";
import { Registry } from "../src/core/values/metrics.ts";

/**
 * bare Hono, a no-op middleware, a middleware that only reads the clock before and after the
 * request (`clock`: the least any middleware that times requests costs), this library's
 * middleware, this library's app wrapper (`instrument`: no middleware; the server serves the
 * wrapped fetch), @hono/prometheus.
 */
export const VARIANTS = ["bare", "noop", "clock", "exporter", "instrument", "hono-prometheus"] as const;
/** One of {@link VARIANTS}. */
export type Variant = (typeof VARIANTS)[number];

/**
 * Installs `variant` on `app`; `exporter` is used by the `exporter` variant. The `instrument`
 * variant installs nothing: see {@link fetchOf}.
 */
export function applyVariant(app: Hono, variant: Variant, exporter: () => Exporter): void {
  if (variant === "noop") {
    const noop: MiddlewareHandler = async (_c, next) => {
      await next();
    };
    app.use(noop);
  } else if (variant === "clock") {
    const clock = globalThis.performance;
    let total = 0; // a closure's state: written on every request, so the reads are not optimised away
    const timing: MiddlewareHandler = async (_c, next) => {
      const started = clock.now();
      await next();
      total += clock.now() - started;
    };
    app.use(timing);
  } else if (variant === "exporter") {
    app.use(prometheus({ exporter: exporter() }));
  } else if (variant === "hono-prometheus") {
    app.use("*", honoPrometheus({ registry: new Registry() }).registerMetrics);
  } else if (variant !== "bare" && variant !== "instrument") {
    throw new Error(`unknown benchmark variant ${variant}`);
  }
  app.get("/users/:id", (c) => c.json({ id: c.req.param("id"), name: "bench" }));
}

/** What the server serves for `variant`: the app's fetch, or (`instrument`) the wrapped one. */
export function fetchOf(
  app: Hono,
  variant: Variant,
  exporter: () => Exporter,
): (request: Request) => Response | Promise<Response> {
  return variant === "instrument" ? instrument(app, { exporter: exporter() }) : app.fetch;
}
