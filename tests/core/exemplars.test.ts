/**
 * Exemplars: the trace of a request (its W3C `traceparent`) on the request counter and on the
 * duration bucket it fell in, the most recent across processes, shown in OpenMetrics and never in
 * the text format, or the labels of the app's own function; and a real Prometheus started with
 * `--enable-feature=exemplar-storage` returning them from `/api/v1/query_exemplars`, scraped in
 * OpenMetrics and in the protobuf exposition.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Hono } from "hono";
import { type Exporter, instrument, metricsHandler, prometheus, Registry } from "../../mod.ts";
import { createExporter, serve } from "../../src/adapter/auto.ts";
import { MemoryStorage } from "../../src/storage/memory.ts";
import { exemplarOf } from "../../src/hono/exemplar.ts";
import { ConfigError } from "../../src/core/errors.ts";
import { MemoryLogger } from "../support/sim.ts";
import { until } from "../support/poll.ts";
import { startPrometheus } from "../support/prometheus.ts";

const TRACE = (n: number) => `${String(n).padStart(32, "a")}`;
const SPAN = (n: number) => `${String(n).padStart(16, "b")}`;
const traceparent = (n: number) => `00-${TRACE(n)}-${SPAN(n)}-01`;

function appOf(exporter: Exporter): Hono {
  const app = new Hono();
  app.use(prometheus({ exporter }));
  app.get("/metrics", metricsHandler(exporter));
  app.get("/users/:id", (c) => c.json({ id: c.req.param("id") }));
  return app;
}

const process = (storage: MemoryStorage, exemplars = true) =>
  createExporter({ registry: new Registry(), storage, metricsServer: false, handleSignals: false, exemplars });

describe("exemplars", () => {
  test("traceparent: trace and span ids of a valid header; nothing for an invalid one", () => {
    const request = (value?: string) => new Request("http://x/", { headers: value ? { traceparent: value } : {} });
    assert.equal(exemplarOf(request(traceparent(1))), `trace_id="${TRACE(1)}",span_id="${SPAN(1)}"`);
    // A later version may add fields after the flags.
    assert.equal(
      exemplarOf(request(`01-${TRACE(1)}-${SPAN(1)}-01-more`)),
      `trace_id="${TRACE(1)}",span_id="${SPAN(1)}"`,
    );
    for (
      const bad of [
        undefined,
        "junk",
        `ff-${TRACE(1)}-${SPAN(1)}-01`,
        `00-${"0".repeat(32)}-${SPAN(1)}-01`,
        `00-${TRACE(1)}-xyz-01`,
        `00-${TRACE(1)}-${SPAN(1)}-00`, // not sampled: no trace to link to
        `00-${TRACE(1)}-${SPAN(1)}-01-extra`, // version 00 ends after the flags
      ]
    ) {
      assert.equal(exemplarOf(request(bad)), undefined, String(bad));
    }
  });

  test("on the counter and the bucket, the most recent of every process, in OpenMetrics only", async () => {
    const storage = new MemoryStorage();
    const [a, b] = [process(storage), process(storage)];
    try {
      await appOf(a).request("/users/1", { headers: { traceparent: traceparent(1) } });
      const first = Date.now();
      await until("a later millisecond for the second", () => Date.now() > first); // the most recent must differ
      await appOf(b).request("/users/2", { headers: { traceparent: traceparent(2) } });
      await appOf(a).request("/users/3"); // no traceparent: the exemplar stays
      await a.flush();
      const open = await b.collect("openmetrics");
      const counter = open.split("\n").find((l) => l.startsWith('hono_worker_requests_total{method="GET"'))!;
      assert.match(counter, / 3 # \{trace_id="a+2",span_id="b+2"\} 1 \d+\.\d+$/);
      const buckets = open.split("\n").filter((l) =>
        l.startsWith("hono_worker_request_duration_seconds_bucket") && l.includes(" # ")
      );
      assert.ok(buckets.length >= 1 && buckets.length <= 2, buckets.join("\n"));
      assert.ok(buckets.some((l) => l.includes(`trace_id="${TRACE(2)}"`)), buckets.join("\n"));
      assert.doesNotMatch(await b.collect("prometheus"), /trace_id|__exemplars/);
      assert.doesNotMatch(open, /__exemplars/);
      assert.doesNotMatch(
        await a.registry.metrics(),
        /__exemplars/,
        "prom-client's own rendering of the registry has none",
      );
    } finally {
      await a.onExit();
      await b.onExit();
    }
  });

  test("off by default: no exemplar, whatever the requests carry", async () => {
    const exporter = process(new MemoryStorage(), false);
    try {
      await appOf(exporter).request("/users/1", { headers: { traceparent: traceparent(1) } });
      assert.doesNotMatch(await exporter.collect("openmetrics"), /trace_id/);
    } finally {
      await exporter.onExit();
    }
  });

  test("a real Prometheus with exemplar storage returns the trace ids sent in traceparent", async () => {
    const exporter = process(new MemoryStorage());
    const server = await serve(appOf(exporter).fetch, { port: 0, hostname: "127.0.0.1" });
    const prom = await startPrometheus(`127.0.0.1:${server.port}`, 500, 400, ["--enable-feature=exemplar-storage"]);
    try {
      for (let i = 1; i <= 3; i++) {
        assert.equal(
          (await fetch(`http://127.0.0.1:${server.port}/users/${i}`, { headers: { traceparent: traceparent(i) } }))
            .status,
          200,
        );
      }
      const traces = await until(
        "Prometheus to store the exemplars",
        async () => {
          const start = Math.floor(Date.now() / 1000) - 600;
          const end = Math.floor(Date.now() / 1000) + 60;
          const query = encodeURIComponent('hono_worker_request_duration_seconds_bucket{route="/users/:id"}');
          const res = await fetch(`${prom.url}/api/v1/query_exemplars?query=${query}&start=${start}&end=${end}`);
          const body = await res.json() as { data: Array<{ exemplars: Array<{ labels: { trace_id?: string } }> }> };
          const ids = new Set(body.data.flatMap((s) => s.exemplars.map((e) => e.labels.trace_id)));
          return ids.has(TRACE(3)) ? ids : undefined;
        },
        30_000,
        250,
      );
      assert.ok(traces.has(TRACE(3)), [...traces].join(","));
    } finally {
      await prom.stop();
      await server.close();
      await exporter.onExit();
    }
  });
  test("from the app's function: its labels, in place of traceparent; bad ones left out and said once", async () => {
    const logger = new MemoryLogger();
    const exporter = createExporter({
      registry: new Registry(),
      storage: new MemoryStorage(),
      metricsServer: false,
      handleSignals: false,
      logger,
    });
    try {
      const app = new Hono();
      app.use(prometheus({
        exporter,
        exemplar: (c) => {
          const id = c.req.header("x-request-id");
          if (id === "throw") throw new Error("no id");
          return id === undefined ? undefined : { request_id: id };
        },
      }));
      app.get("/users/:id", (c) => c.text("ok"));
      await app.request("/users/1", { headers: { "x-request-id": "r-1", traceparent: traceparent(9) } });
      await app.request("/users/2", { headers: { "x-request-id": "x".repeat(200) } }); // over 128 characters
      await app.request("/users/3", { headers: { "x-request-id": "throw" } });
      await app.request("/users/4", { headers: { "x-request-id": "y".repeat(300) } });
      const open = await exporter.collect("openmetrics");
      const counter = open.split("\n").find((l) => l.startsWith('hono_worker_requests_total{method="GET"'))!;
      assert.match(
        counter,
        / 4 # \{request_id="r-1"\} 1 /,
        "exemplars on without the option: the function turns them on",
      );
      assert.doesNotMatch(open, /trace_id/);
      const warnings = logger.lines.filter((l) => l.includes("exemplar is left out"));
      assert.equal(warnings.length, 1, warnings.join("\n"));
      assert.match(warnings[0], /over the 128/);
    } finally {
      await exporter.onExit();
    }
    const exporter2 = process(new MemoryStorage());
    try {
      assert.throws(() => prometheus({ exporter: exporter2, exemplar: "trace" as never }), ConfigError);
      assert.throws(
        () => instrument(new Hono(), { exporter: exporter2, exemplar: () => ({}) }),
        (e: unknown) => e instanceof ConfigError && /exemplar/.test(String(e)),
      );
    } finally {
      await exporter2.onExit();
    }
  });

  test("a real Prometheus scraping protobuf, with native histograms on, stores them too", async () => {
    const exporter = createExporter({
      registry: new Registry(),
      storage: new MemoryStorage(),
      metricsServer: false,
      handleSignals: false,
      exemplars: true,
      nativeHistograms: true,
    });
    const server = await serve(appOf(exporter).fetch, { port: 0, hostname: "127.0.0.1" });
    const prom = await startPrometheus(`127.0.0.1:${server.port}`, 500, 400, [
      "--enable-feature=exemplar-storage",
      "--enable-feature=native-histograms",
    ]);
    try {
      for (let i = 1; i <= 3; i++) {
        const headers = { traceparent: traceparent(i) };
        assert.equal((await fetch(`http://127.0.0.1:${server.port}/users/${i}`, { headers })).status, 200);
      }
      const byMetric = await until(
        "Prometheus to store the exemplars of the counter and of the native histogram",
        async () => {
          const start = Math.floor(Date.now() / 1000) - 600;
          const end = Math.floor(Date.now() / 1000) + 60;
          const query = encodeURIComponent('{__name__=~"hono_worker_request.*",route="/users/:id"}');
          const res = await fetch(`${prom.url}/api/v1/query_exemplars?query=${query}&start=${start}&end=${end}`);
          const body = await res.json() as {
            data: Array<{ seriesLabels: { __name__: string }; exemplars: Array<{ labels: { trace_id?: string } }> }>;
          };
          const seen = new Map<string, Set<string | undefined>>();
          for (const s of body.data) {
            seen.set(
              s.seriesLabels.__name__,
              new Set(s.exemplars.map((e) => e.labels.trace_id)),
            );
          }
          const done = seen.get("hono_worker_requests_total")?.has(TRACE(3)) &&
            seen.get("hono_worker_request_duration_seconds")?.size;
          return done ? seen : undefined;
        },
        30_000,
        250,
      );
      assert.ok(byMetric.get("hono_worker_requests_total")!.has(TRACE(3)));
      const traced = [...byMetric.get("hono_worker_request_duration_seconds")!];
      assert.ok(traced.every((id) => [1, 2, 3].map(TRACE).includes(id!)), traced.join(","));
    } finally {
      await prom.stop();
      await server.close();
      await exporter.onExit();
    }
  });
});
