/**
 * Native histograms end to end: a real Prometheus started with `--enable-feature=native-histograms`
 * scrapes the cluster example (two workers, filesystem backend, `PROMETHEUS_NATIVE_HISTOGRAMS=true`)
 * through the protobuf exposition, and sees the request duration as one native histogram whose
 * `histogram_count` over the workers is the number of requests served; the buckets Prometheus
 * reports hold the durations the workers measured; the queries the docs show answer.
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

const SELECTOR = 'hono_worker_request_duration_seconds{route="/users/:id"}';

test(`the cluster example on ${RUNTIME}: Prometheus sees a native histogram of every request`, async () => {
  const dir = mkdtempSync(join(tmpdir(), "hpe-native-"));
  let example: RunningExample | undefined;
  let prometheus: Awaited<ReturnType<typeof startPrometheus>> | undefined;
  try {
    const env = { PROMETHEUS_NATIVE_HISTOGRAMS: "true" };
    example = RUNTIME === "deno" ? await startParallelExample(dir, 2, env) : await startClusterExample(dir, 2, env);
    let served = 0;
    const serve = async (n: number) => {
      for (let i = 0; i < n; i++) assert.equal((await fetch(`${example!.url}/users/${served++}`)).status, 200);
    };
    await serve(25);
    prometheus = await startPrometheus(`127.0.0.1:${example.metricsPort}`, 1000, 800, [
      "--enable-feature=native-histograms",
    ]);
    const server = prometheus;
    const counted = (n: number) =>
      until(
        `Prometheus to count the ${n} requests in the native histogram`,
        async () => (await server.query(`histogram_count(sum(${SELECTOR}))`))[0] === n,
        60_000,
        250,
      );
    await counted(25);
    // More after the first scrapes, so that the rates the docs show have an increase to see.
    await serve(5);
    await counted(30);
    // A native histogram: one series per route, method and status, no _bucket series beside it.
    const raw = await server.raw(SELECTOR) as Array<
      { metric: Record<string, string>; histogram?: [number, NativeResult] }
    >;
    assert.equal(raw.length, 1, JSON.stringify(raw));
    const histogram = raw[0].histogram;
    assert.ok(histogram, `a native histogram, not a float sample: ${JSON.stringify(raw)}`);
    const [, value] = histogram;
    assert.equal(Number(value.count), served);
    const inBuckets = value.buckets.reduce((n, [, , , count]) => n + Number(count), 0);
    assert.equal(inBuckets, served, "every request is in one bucket");
    // The durations are within the buckets' bounds: between their sum's least and most.
    const lower = Math.min(...value.buckets.map(([, low]) => Number(low)));
    const upper = Math.max(...value.buckets.map(([, , high]) => Number(high)));
    const mean = Number(value.sum) / served;
    assert.ok(lower <= mean && mean <= upper, `mean ${mean} within [${lower}, ${upper}]`);
    assert.deepEqual(await server.query(`sum(${SELECTOR.replace("seconds{", "seconds_count{")})`), []);
    // The queries the docs show: a quantile within the buckets, a rate of requests.
    await until(
      "the documented queries to answer",
      async () => {
        const [p99] = await server.query(
          "histogram_quantile(0.99, sum(rate(hono_worker_request_duration_seconds[5m])))",
        );
        const [rate] = await server.query("histogram_count(sum(rate(hono_worker_request_duration_seconds[5m])))");
        return p99 !== undefined && rate !== undefined && Number.isFinite(p99) && p99 > 0 && p99 <= upper && rate >= 0;
      },
      30_000,
      250,
    );
  } finally {
    await prometheus?.stop();
    await example?.app.stop("SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A native histogram as Prometheus' query API returns it. */
interface NativeResult {
  readonly count: string;
  readonly sum: string;
  readonly buckets: Array<[number, string, string, string]>;
}
