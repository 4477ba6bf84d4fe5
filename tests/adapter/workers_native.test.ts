/**
 * Native histograms on Workers: the Durable Object example deployed twice (two isolates, one
 * metrics object) with `PROMETHEUS_NATIVE_HISTOGRAMS=true` and exemplars on (the fixtures' vars), in
 * the real Workers runtime; `/metrics` asked for the protobuf exposition answers one native histogram per series
 * whose count is every request of both isolates, read back by an independent decoder, with the
 * trace of a request on its counter.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { until } from "../support/poll.ts";
import { type DecodedFamily, decodeFamilies, nativeBucketsOf } from "../support/metrics_proto.ts";
import { startSession, workerdSuite } from "../support/workerd.ts";

const NAME = "native histograms in workerd (wrangler dev, two Workers, one metrics object)";
workerdSuite(NAME, suite);

const ACCEPT = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited";
const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";

function suite(): void {
  test("both isolates' requests in one native histogram, in the protobuf exposition", async () => {
    const worker = await startSession(
      [
        "tests/support/fixtures/durable/router.toml",
        "tests/support/fixtures/durable/native.toml",
        "tests/support/fixtures/durable/native_second.toml",
      ],
    );
    try {
      const traceparent = `00-${TRACE}-00f067aa0ba902b7-01`;
      for (let i = 0; i < 6; i++) {
        const headers = i === 0 ? { traceparent } : undefined;
        const which = i % 2 === 0 ? "first" : "second";
        assert.equal((await fetch(`${worker.url}/${which}/users/${i}`, { headers })).status, 200);
      }
      let families: DecodedFamily[] = [];
      const durations = () =>
        families.find((f) => f.name === "hono_worker_request_duration_seconds")?.metric
          .filter((m: DecodedFamily) => m.label.some((l: DecodedFamily) => l.value === "/users/:id"))
          .map((m: DecodedFamily) => m.histogram) ?? [];
      await until(
        "the 6 requests in the native histogram",
        async () => {
          const response = await fetch(`${worker.url}/second/metrics`, { headers: { accept: ACCEPT } });
          if (response.status !== 200 || !response.headers.get("content-type")?.includes("protobuf")) {
            await response.body?.cancel();
            return false;
          }
          families = decodeFamilies(new Uint8Array(await response.arrayBuffer()));
          return durations().reduce((n: number, h: DecodedFamily) => n + h.sampleCount, 0) === 6;
        },
        20_000,
        200,
      );
      for (const h of durations()) {
        assert.equal(h.schema, 3);
        const inBuckets = [...nativeBucketsOf(h, "positive").values()].reduce((a, b) => a + b, h.zeroCount ?? 0);
        assert.equal(inBuckets, h.sampleCount, "every request in one native bucket");
      }
      const counter = families.find((f) => f.name === "hono_worker_requests_total");
      const traced = counter.metric.map((m: DecodedFamily) => m.counter.exemplar?.label?.[0]?.value);
      assert.ok(traced.includes(TRACE), `the trace on the counter: ${JSON.stringify(traced)}`);
      assert.doesNotMatch(worker.output(), /Uncaught/);
    } finally {
      await worker.stop();
    }
  });
}
