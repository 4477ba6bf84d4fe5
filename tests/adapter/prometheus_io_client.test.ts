/**
 * Apps on @prometheus-io/client, prom-client's successor: two processes declare their metrics with
 * it, on its own global registry, and publish to one directory; the aggregate holds both, with the
 * gauge mode the exporter was given, and their histogram summed, classic and native.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { createExporter } from "../../src/adapter/node/index.ts";
import { Hono } from "hono";
import { metricsHandler, Registry } from "../../mod.ts";
import { decodeFamilies, nativeBucketsOf } from "../support/metrics_proto.ts";
import { RUNTIME } from "../support/runtime.ts";
import { sample } from "../support/sim.ts";
import { type Running, start } from "../support/spawn.ts";
import process from "node:process";

test(`two processes on @prometheus-io/client aggregate in one directory (${RUNTIME} reads them)`, async () => {
  const dir = mkdtempSync(join(tmpdir(), "hpe-prometheus-io-"));
  const apps: Running[] = [];
  try {
    for (const jobs of [3, 4]) {
      apps.push(
        await start(
          RUNTIME === "node" ? process.execPath : "node", // the apps run on Node; the test's runtime reads them
          ["--import", "tsx", "tests/support/fixtures/prometheus_io_app.ts"],
          { PROMETHEUS_MULTIPROC_DIR: dir, JOBS: String(jobs) },
          /published/,
          60_000,
        ),
      );
    }
    const reader = createExporter({
      registry: new Registry(),
      multiprocDir: dir,
      metricsServer: false,
      handleSignals: false,
      publishOnScrape: false,
    });
    try {
      const text = await reader.collect();
      assert.equal(sample(text, 'jobs_done_total{kind="mail"}'), 7, text);
      assert.equal(sample(text, "queue_depth"), 7, "livesum over the two processes");
      assert.equal(sample(text, 'job_seconds_count{kind="mail"}'), 7, text);
      const app = new Hono();
      app.get("/metrics", metricsHandler(reader));
      const accept = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited";
      const response = await app.request("/metrics", { headers: { accept } });
      const family = decodeFamilies(new Uint8Array(await response.arrayBuffer())).find((f) => f.name === "job_seconds");
      const histogram = family.metric[0].histogram;
      assert.equal(histogram.sampleCount, 7);
      const inBuckets = [...nativeBucketsOf(histogram, "positive").values()].reduce((a, b) => a + b, 0);
      assert.deepEqual([histogram.schema, inBuckets], [3, 7], "native, every job in one bucket");
    } finally {
      await reader.onExit();
    }
  } finally {
    for (const app of apps) await app.stop("SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  }
});
