/** The middleware variants the HTTP and in-process benchmarks compare, applied to one app. */
import type { Hono, MiddlewareHandler } from "hono";
import { prometheus as honoPrometheus } from "@hono/prometheus";
import { type Exporter, prometheus } from "../mod.ts";
import { Registry } from "../src/core/values/metrics.ts";

/** bare Hono, a no-op middleware, this library, @hono/prometheus. */
export const VARIANTS = ["bare", "noop", "exporter", "hono-prometheus"] as const;
/** One of {@link VARIANTS}. */
export type Variant = (typeof VARIANTS)[number];

/** Installs `variant` on `app`; `exporter` is used by the `exporter` variant. */
export function applyVariant(app: Hono, variant: Variant, exporter: () => Exporter): void {
  if (variant === "noop") {
    const noop: MiddlewareHandler = async (_c, next) => {
      await next();
    };
    app.use(noop);
  } else if (variant === "exporter") {
    app.use(prometheus({ exporter: exporter() }));
  } else if (variant === "hono-prometheus") {
    app.use("*", honoPrometheus({ registry: new Registry() }).registerMetrics);
  } else if (variant !== "bare") {
    throw new Error(`unknown benchmark variant ${variant}`);
  }
  app.get("/users/:id", (c) => c.json({ id: c.req.param("id"), name: "bench" }));
}
