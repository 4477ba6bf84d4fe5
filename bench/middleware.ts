/**
 * In-process cost of each middleware variant per request (app.fetch in a loop, no network), on
 * whichever runtime runs this file. Rounds rotate the variants; the minimum per variant is kept,
 * the least disturbed measurement on a shared machine.
 */
import { Hono, type MiddlewareHandler } from "hono";
import { prometheus as honoPrometheus } from "@hono/prometheus";
import { createExporter, prometheus } from "../mod.ts";
import { Registry } from "../src/core/metrics.ts";
import { MemoryStorage } from "../src/storage/memory.ts";

export type MiddlewareVariant = "noop" | "exporter" | "hono-prometheus";

function build(variant: MiddlewareVariant): Hono {
  const app = new Hono();
  if (variant === "noop") {
    const noop: MiddlewareHandler = async (_c, next) => {
      await next();
    };
    app.use(noop);
  } else if (variant === "exporter") {
    const exporter = createExporter({ registry: new Registry(), storage: new MemoryStorage(), metricsServer: false });
    app.use(prometheus({ exporter }));
  } else {
    app.use("*", honoPrometheus({ registry: new Registry() }).registerMetrics);
  }
  app.get("/users/:id", (c) => c.json({ id: c.req.param("id") }));
  return app;
}

export async function benchMiddleware(rounds = 9, requests = 20_000): Promise<Record<MiddlewareVariant, number>> {
  const variants: MiddlewareVariant[] = ["noop", "exporter", "hono-prometheus"];
  const apps = Object.fromEntries(variants.map((v) => [v, build(v)])) as Record<MiddlewareVariant, Hono>;
  const best = { noop: Infinity, exporter: Infinity, "hono-prometheus": Infinity };
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < variants.length; k++) {
      const variant = variants[(k + round) % variants.length];
      const app = apps[variant];
      const started = performance.now();
      for (let i = 0; i < requests; i++) await app.fetch(new Request(`http://x/users/${i % 100}`));
      best[variant] = Math.min(best[variant], ((performance.now() - started) * 1000) / requests);
    }
  }
  return best;
}

if (import.meta.main ?? (globalThis as { process?: { argv: string[] } }).process?.argv[1]?.endsWith("middleware.ts")) {
  console.log(JSON.stringify(await benchMiddleware()));
}
