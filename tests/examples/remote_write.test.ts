/**
 * Remote write from the process that serves the aggregate, in the cluster examples: the supervisor's
 * primary (Node, Bun) or the `deno serve --parallel` isolate that holds the metrics port. A real
 * Prometheus started with `--web.enable-remote-write-receiver`, scraping nothing, holds the exact
 * count of the requests both workers served; only one process pushes (a second would be refused as
 * duplicate samples, and say so).
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { type RunningExample, startClusterExample, startParallelExample } from "../support/cluster.ts";
import { until } from "../support/poll.ts";
import { startPrometheus } from "../support/prometheus.ts";
import { RUNTIME } from "../support/runtime.ts";

const WHO = RUNTIME === "deno" ? "the isolate holding the metrics port" : "the supervisor's primary";

test(`the cluster example on ${RUNTIME}: ${WHO} pushes the exact count`, async () => {
  const receiver = await startPrometheus({ scrapeConfigs: "" }, 1000, 500, ["--web.enable-remote-write-receiver"]);
  const dir = mkdtempSync(join(tmpdir(), "hpe-remote-write-"));
  const env = {
    PROMETHEUS_REMOTE_WRITE_URL: `${receiver.url}/api/v1/write`,
    PROMETHEUS_REMOTE_WRITE_INTERVAL_SECONDS: "1",
  };
  let example: RunningExample | undefined;
  try {
    example = RUNTIME === "deno" ? await startParallelExample(dir, 2, env) : await startClusterExample(dir, 2, env);
    for (let i = 0; i < 10; i++) assert.equal((await fetch(`${example.url}/users/${i}`)).status, 200);
    await until(
      "Prometheus to hold the 10 requests",
      async () => {
        const [value] = await receiver.query('sum(hono_worker_requests_total{route="/users/:id"})');
        return value === 10;
      },
      30_000,
      250,
    );
    assert.doesNotMatch(example.app.output(), /remote write to .* failed/);
  } finally {
    await example?.app.stop("SIGTERM");
    await receiver.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
