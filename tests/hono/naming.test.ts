import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Hono, type MiddlewareHandler } from "hono";
import { prometheus as honoPrometheus } from "@hono/prometheus";
import { createExporter, instrument, prometheus, Registry } from "../../mod.ts";
import { MemoryStorage } from "../../src/storage/memory.ts";
import { MemoryLogger } from "../support/sim.ts";

/** Family name -> type, label names (without `le`) and bucket bounds, from Prometheus text. */
function families(text: string) {
  const out = new Map<string, { type: string; labels: Set<string>; buckets: Set<string> }>();
  for (const line of text.split("\n")) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) out.set(type[1], { type: type[2], labels: new Set(), buckets: new Set() });
  }
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? /.exec(line);
    if (!m || line.startsWith("#")) continue;
    const family = out.get(m[1]) ?? out.get(m[1].replace(/_(bucket|sum|count)$/, ""));
    if (!family) continue;
    for (const [, name, value] of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      if (name === "le") family.buckets.add(value);
      else family.labels.add(name);
    }
  }
  return out;
}

/** Values of `family` samples by their labels, route left out (404s are named differently). */
function values(text: string, sample: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${sample}{`)) continue;
    const labels = line.slice(sample.length + 1, line.lastIndexOf("}"));
    if (!labels.includes('route="/users/:id"') && !labels.includes('route="/boom"')) continue;
    const sorted = labels.split(/,(?=[a-z_]+=")/).sort().join(",");
    out.set(sorted, Number(line.slice(line.lastIndexOf(" ") + 1)));
  }
  return out;
}

function routes(app: Hono): Hono {
  app.get("/users/:id", (c) => c.json({ id: c.req.param("id") }));
  app.post("/users/:id", (c) => c.text("created", 201));
  app.get("/boom", () => {
    throw new Error("boom");
  });
  app.onError((_error, c) => c.text("internal error", 500));
  return app;
}

async function traffic(fetch: (request: Request) => Response | Promise<Response>): Promise<void> {
  const statuses: number[] = [];
  for (let i = 0; i < 5; i++) statuses.push((await fetch(new Request(`http://x/users/${i}`))).status);
  statuses.push((await fetch(new Request("http://x/users/9", { method: "POST", body: "x" }))).status);
  statuses.push((await fetch(new Request("http://x/boom"))).status);
  statuses.push((await fetch(new Request("http://x/nowhere"))).status);
  assert.deepEqual(statuses, [200, 200, 200, 200, 200, 201, 500, 404]);
}

describe('naming: "@hono/prometheus"', () => {
  for (const how of ["middleware", "instrument"] as const) {
    test(`${how}: the same families, label names, buckets and counts as @hono/prometheus for the same traffic`, async () => {
      const theirs = new Registry();
      const theirApp = new Hono();
      theirApp.use("*", honoPrometheus({ registry: theirs }).registerMetrics as MiddlewareHandler);
      await traffic(routes(theirApp).fetch);

      const exporter = createExporter({
        registry: new Registry(),
        storage: new MemoryStorage(),
        metricsServer: false,
        logger: new MemoryLogger(),
      });
      const ourApp = new Hono();
      if (how === "middleware") ourApp.use(prometheus({ exporter, naming: "@hono/prometheus" }));
      routes(ourApp);
      await traffic(how === "middleware" ? ourApp.fetch : instrument(ourApp, { exporter, naming: "@hono/prometheus" }));

      const theirText = await theirs.metrics();
      const ourText = await exporter.collect();
      const expected = families(theirText);
      const actual = families(ourText);
      assert.deepEqual([...expected.keys()].sort(), ["http_request_duration_seconds", "http_requests_total"]);
      for (const [name, family] of expected) {
        const ours = actual.get(name);
        assert.ok(ours, `${name} is missing from:\n${ourText}`);
        assert.equal(ours.type, family.type, name);
        assert.deepEqual([...ours.labels].sort(), [...family.labels].sort(), `${name}: label names`);
        assert.deepEqual([...ours.buckets].sort(), [...family.buckets].sort(), `${name}: bucket bounds`);
      }
      // Matched routes count the same, label for label.
      for (const sample of ["http_requests_total", "http_request_duration_seconds_count"]) {
        const theirValues = values(theirText, sample);
        assert.equal(theirValues.size, 3, `${sample}: GET 200, POST 201, GET 500`);
        assert.deepEqual(values(ourText, sample), theirValues, sample);
      }
      // The default names are not recorded as well.
      assert.doesNotMatch(ourText, /hono_worker_requests_total/);
      await exporter.onExit();
    });
  }
});
