/**
 * In-process cost of each middleware variant per request (app.fetch in a loop, no network), on
 * whichever runtime runs this file. Rounds rotate the variants; the minimum per variant is kept,
 * the least disturbed measurement on a shared machine.
 */
import { Hono } from "hono";
import { createExporter } from "../mod.ts";
import { Registry } from "../src/core/values/metrics.ts";
import { MemoryStorage } from "../src/storage/memory.ts";
import { applyVariant } from "./variants.ts";

/** The variants compared in process. */
export type MiddlewareVariant = "noop" | "exporter" | "hono-prometheus";

function build(variant: MiddlewareVariant): Hono {
  const app = new Hono();
  applyVariant(
    app,
    variant,
    () => createExporter({ registry: new Registry(), storage: new MemoryStorage(), metricsServer: false }),
  );
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
