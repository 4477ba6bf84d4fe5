import assert from "node:assert/strict";
import { test } from "node:test";
import { promtoolCheck } from "../support/promtool.ts";
import { commandFor, RUNTIME } from "../support/runtime.ts";
import { sample, sumOf } from "../support/sim.ts";
import { EXAMPLE_PORTS, reportedPorts, start } from "../support/spawn.ts";

test(`the basic example on ${RUNTIME}: 40 + 5 requests are counted exactly, promtool is clean`, async () => {
  const [command, args] = commandFor("examples/basic/app.ts");
  const app = await start(command, args, {
    PORT: "0",
    HOST: "127.0.0.1",
    PROMETHEUS_METRICS_PORT: "0",
    PROMETHEUS_BIND_ADDRESS: "127.0.0.1",
  }, EXAMPLE_PORTS);
  const [appPort, metricsPort] = reportedPorts(app, EXAMPLE_PORTS);
  try {
    for (let i = 0; i < 40; i++) {
      const res = await fetch(`http://127.0.0.1:${appPort}/users/${i}`);
      assert.deepEqual(await res.json(), { id: String(i), name: `user ${i}` });
    }
    for (let i = 0; i < 5; i++) assert.equal((await fetch(`http://127.0.0.1:${appPort}/error`)).status, 500);
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    assert.equal(sumOf(text, "hono_worker_requests_total"), 45);
    assert.equal(sumOf(text, "hono_worker_request_duration_seconds_count"), 45);
    assert.equal(sumOf(text, "hono_worker_failed_requests_total"), 5);
    assert.equal(sample(text, 'hono_worker_requests_total{method="GET",route="/users/:id",status="200"}'), 40);
    assert.equal(sample(text, 'hono_worker_failed_requests_total{error_type="Error",method="GET",route="/error"}'), 5);
    assert.match(text, /^hono_worker_memory_bytes\{worker_id="[^"]+"\} [1-9]\d*$/m);
    assert.equal(promtoolCheck(text), "");
  } finally {
    const code = await app.stop("SIGTERM");
    assert.equal(code, 0, `graceful exit on SIGTERM:\n${app.output()}`);
  }
});
