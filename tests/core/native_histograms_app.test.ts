/**
 * Native histograms in an app: off by default; the HTTP duration and the app's own prom-client
 * histograms, all or by name, summed over two processes and read back from the protobuf
 * exposition by an independent decoder (protobufjs with Prometheus' metrics.proto); a histogram
 * observed before the exporter was made; the settings and their errors.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Hono } from "hono";
import { ConfigError, Histogram, metricsHandler, prometheus, Registry } from "../../mod.ts";
import { createExporter } from "../../src/adapter/auto.ts";
import { MemoryStorage } from "../../src/storage/memory.ts";
import { contentTypeOf } from "../../src/core/render/render.ts";
import { resolveConfig } from "../../src/core/config/config.ts";
import { decodeFamilies, nativeBucketsOf } from "../support/metrics_proto.ts";

function app(exporter: ReturnType<typeof createExporter>): Hono {
  const hono = new Hono();
  hono.use(prometheus({ exporter }));
  hono.get("/metrics", metricsHandler(exporter));
  hono.get("/sleep/:ms", async (c) => {
    await new Promise((r) => setTimeout(r, Number(c.req.param("ms"))));
    return c.text("ok");
  });
  return hono;
}

const PROTOBUF_ACCEPT = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited";

describe("native histograms: in an app", () => {
  test("off by default: the protobuf exposition has classic histograms only", async () => {
    const exporter = createExporter({
      registry: new Registry(),
      storage: new MemoryStorage(),
      metricsServer: false,
      handleSignals: false,
    });
    try {
      const hono = app(exporter);
      await hono.request("/sleep/1");
      const response = await hono.request("/metrics", { headers: { accept: PROTOBUF_ACCEPT } });
      assert.equal(response.headers.get("content-type"), contentTypeOf("protobuf"));
      const families = decodeFamilies(new Uint8Array(await response.arrayBuffer()));
      const duration = families.find((f) => f.name === "hono_worker_request_duration_seconds");
      assert.ok(duration, "the duration histogram is exposed");
      assert.equal(duration.metric[0].histogram.schema, undefined);
      assert.equal(duration.metric[0].histogram.zeroThreshold, undefined);
    } finally {
      await exporter.onExit();
    }
  });

  test("two processes: the HTTP duration and the app's own histogram, native, summed", async () => {
    const storage = new MemoryStorage();
    const exporters = [0, 1].map(() => {
      const registry = new Registry();
      // Declared before the exporter, observed through labels() and startTimer().
      const jobs = new Histogram({ name: "jobs_seconds", help: "Jobs.", labelNames: ["kind"], registers: [registry] });
      const exporter = createExporter({
        registry,
        storage,
        metricsServer: false,
        handleSignals: false,
        nativeHistograms: true,
      });
      // And one declared after it.
      const late = new Histogram({ name: "late_seconds", help: "Late.", registers: [registry] });
      return { exporter, jobs, late };
    });
    try {
      let requests = 0;
      for (const [i, { exporter, jobs, late }] of exporters.entries()) {
        const hono = app(exporter);
        for (let k = 0; k <= i; k++) {
          await hono.request(`/sleep/${k + 1}`);
          requests++;
        }
        jobs.labels("a").observe(0.25);
        jobs.observe({ kind: "a" }, 4);
        jobs.startTimer({ kind: "b" })();
        late.observe(-3);
        await exporter.flush();
      }
      const response = await app(exporters[0].exporter).request("/metrics", { headers: { accept: PROTOBUF_ACCEPT } });
      const families = decodeFamilies(new Uint8Array(await response.arrayBuffer()));
      const byName = new Map(families.map((f) => [f.name, f]));
      const duration = byName.get("hono_worker_request_duration_seconds").metric
        .map((m: { histogram: unknown }) => m.histogram)
        .filter((h: { sampleCount: number }) => h.sampleCount > 0);
      const served = duration.reduce((n: number, h: { sampleCount: number }) => n + h.sampleCount, 0);
      assert.equal(served, requests);
      for (const h of duration) {
        assert.equal(h.schema, 3);
        const inBuckets = [...nativeBucketsOf(h, "positive").values()].reduce((a, b) => a + b, h.zeroCount ?? 0);
        assert.equal(inBuckets, h.sampleCount, "every request is in one native bucket");
      }
      const jobs = byName.get("jobs_seconds").metric.map((
        m: { label: unknown; histogram: { sampleCount: number; positiveSpan?: unknown[] } },
      ) => m.histogram);
      assert.deepEqual(jobs.map((h: { sampleCount: number }) => h.sampleCount).sort(), [2, 4]);
      for (const h of jobs) assert.ok(h.positiveSpan && h.positiveSpan.length > 0, "the app's histogram is native");
      const late = byName.get("late_seconds").metric[0].histogram;
      assert.deepEqual([late.sampleCount, [...nativeBucketsOf(late, "negative").values()]], [2, [2]]);
      // The text formats are unchanged: classic buckets only.
      const text = await (await app(exporters[0].exporter).request("/metrics")).text();
      assert.match(text, /jobs_seconds_bucket\{kind="a",le="\+Inf"\} 4/);
    } finally {
      for (const { exporter } of exporters) await exporter.onExit();
    }
  });

  test("by name: only the histograms named are native; a bad setting fails at start", async () => {
    const registry = new Registry();
    const named = new Histogram({ name: "named_seconds", help: "N.", registers: [registry] });
    const other = new Histogram({ name: "other_seconds", help: "O.", registers: [registry] });
    const exporter = createExporter({
      registry,
      storage: new MemoryStorage(),
      metricsServer: false,
      handleSignals: false,
      nativeHistograms: ["named_seconds"],
    });
    try {
      named.observe(1);
      other.observe(1);
      const response = await app(exporter).request("/metrics", { headers: { accept: PROTOBUF_ACCEPT } });
      const byName = new Map(decodeFamilies(new Uint8Array(await response.arrayBuffer())).map((f) => [f.name, f]));
      assert.equal(byName.get("named_seconds").metric[0].histogram.schema, 3);
      assert.equal(byName.get("other_seconds").metric[0].histogram.schema, undefined);
    } finally {
      await exporter.onExit();
    }
    for (const bad of [["not a name"], "yes" as never, [3 as never]]) {
      assert.throws(
        () =>
          createExporter({
            registry: new Registry(),
            storage: new MemoryStorage(),
            metricsServer: false,
            nativeHistograms: bad,
          }),
        (e: unknown) => e instanceof ConfigError && /nativeHistograms/.test(String(e)),
      );
    }
    const env = (value: string) =>
      resolveConfig({}, (name) => name === "PROMETHEUS_NATIVE_HISTOGRAMS" ? value : undefined);
    assert.deepEqual(env("a_seconds, b_seconds").nativeHistograms, ["a_seconds", "b_seconds"]);
    assert.equal(env("TRUE").nativeHistograms, true);
    assert.equal(env("off").nativeHistograms, false);
    assert.throws(() => env("a b"), /PROMETHEUS_NATIVE_HISTOGRAMS/);
  });

  test("a histogram observed before the exporter is made stays classic, never half native", async () => {
    const registry = new Registry();
    const early = new Histogram({ name: "early_seconds", help: "E.", registers: [registry] });
    early.observe(1);
    const exporter = createExporter({
      registry,
      storage: new MemoryStorage(),
      metricsServer: false,
      handleSignals: false,
      nativeHistograms: true,
    });
    try {
      early.observe(2);
      const response = await app(exporter).request("/metrics", { headers: { accept: PROTOBUF_ACCEPT } });
      const byName = new Map(decodeFamilies(new Uint8Array(await response.arrayBuffer())).map((f) => [f.name, f]));
      const h = byName.get("early_seconds").metric[0].histogram;
      assert.equal(h.sampleCount, 2);
      assert.equal(h.schema, undefined);
    } finally {
      await exporter.onExit();
    }
  });
});
