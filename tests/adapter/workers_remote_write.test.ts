/**
 * Remote write from Workers: the Durable Object example's Cron Trigger (`scheduled`, run through
 * `wrangler dev --test-scheduled`) pushes the aggregate, read from its metrics object, to a real
 * Prometheus started with `--web.enable-remote-write-receiver` that scrapes nothing.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { until } from "../support/poll.ts";
import { startPrometheus } from "../support/prometheus.ts";
import { startSession, workerdSuite } from "../support/workerd.ts";

const NAME = "remote write from a Cron Trigger in workerd (wrangler dev)";
workerdSuite(NAME, suite);

function suite(): void {
  test("a Worker that nothing scrapes reaches Prometheus with the exact count", async () => {
    const receiver = await startPrometheus({ scrapeConfigs: "" }, 1000, 500, ["--web.enable-remote-write-receiver"]);
    const worker = await startSession(["tests/support/fixtures/durable/relay.toml"], undefined, {
      vars: { PROMETHEUS_REMOTE_WRITE_URL: `${receiver.url}/api/v1/write` },
      args: ["--test-scheduled"],
    });
    try {
      for (let i = 0; i < 9; i++) assert.equal((await fetch(`${worker.url}/users/${i}`)).status, 200);
      const pushed = () => receiver.query('sum(hono_worker_requests_total{route="/users/:id"})');
      // Each run of the Cron Trigger pushes what the object holds by then (the app's own window publishes first).
      await until(
        "Prometheus to hold the 9 requests",
        async () => {
          const run = await fetch(`${worker.url}/__scheduled?cron=*+*+*+*+*`);
          assert.equal(run.status, 200, await run.text());
          return (await pushed())[0] === 9;
        },
        30_000,
        500,
      );
      assert.doesNotMatch(worker.output(), /Uncaught|remote write to .* failed/);
    } finally {
      await worker.stop();
      await receiver.stop();
    }
  });
}
