/**
 * In-process cost of each variant per request (the served fetch called in a loop with `new
 * Request`, no network), on whichever runtime runs this file; `run.ts` runs it on Node, Bun and
 * Deno. Rounds rotate the variants; the minimum per variant is kept, the least disturbed
 * measurement on a shared machine. Quieter than the HTTP benchmark, it shows what each variant's
 * own JavaScript costs, without the server's.
 */
import process from "node:process";
import { Hono } from "hono";
import { createExporter } from "../mod.ts";
import { Registry } from "../src/core/values/metrics.ts";
import { MemoryStorage } from "../src/storage/memory.ts";
import { applyVariant, fetchOf, type Variant, VARIANTS } from "./variants.ts";

// On Node, apps are served by @hono/node-server, which puts its lightweight Request and Response
// in place of Node's own when it makes its listener: do so here too, so that the app builds the
// Responses it builds when served.
if (!("Deno" in globalThis) && !("Bun" in globalThis)) {
  const { getRequestListener } = await import("@hono/node-server");
  getRequestListener(() => new Response());
}

/** Microseconds per request, per variant. */
export type InProcessResult = Record<Variant, number>;

function build(variant: Variant): (request: Request) => Response | Promise<Response> {
  const app = new Hono();
  // Each variant asks for its exporter once: `exporter` from applyVariant, `instrument` from fetchOf.
  const exporter = () =>
    createExporter({
      registry: new Registry(),
      storage: new MemoryStorage(),
      metricsServer: false,
    });
  applyVariant(app, variant, exporter);
  return fetchOf(app, variant, exporter);
}

export async function benchMiddleware(rounds = 15, requests = 20_000): Promise<InProcessResult> {
  const fetches = VARIANTS.map(build);
  const urls = Array.from({ length: 100 }, (_, i) => `http://x/users/${i}`);
  const best = VARIANTS.map(() => Infinity);
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < VARIANTS.length; k++) {
      const v = (k + round) % VARIANTS.length;
      const fetch = fetches[v];
      const started = performance.now();
      for (let i = 0; i < requests; i++) await fetch(new Request(urls[i % 100]));
      best[v] = Math.min(best[v], ((performance.now() - started) * 1000) / requests);
    }
  }
  return Object.fromEntries(VARIANTS.map((v, i) => [v, best[i]])) as InProcessResult;
}

if (process.argv[1]?.endsWith("middleware.ts")) {
  console.log(JSON.stringify(await benchMiddleware()));
  process.exit(0);
}
