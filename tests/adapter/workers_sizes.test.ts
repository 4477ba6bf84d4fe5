/**
 * Response sizes in the real Workers runtime (workerd through `wrangler dev`, as in
 * `workers.test.ts`): workerd's Responses tell a script nothing of their body, so every kind of
 * body is recorded from what each Response was built with; through the middleware and through
 * `instrument`, each response is recorded once with the number of body bytes the client received,
 * and a stream of undeclared length is not recorded.
 */
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { SIZED, UNSIZED } from "../support/fixtures/sized_routes.ts";
import { until } from "../support/poll.ts";
import { sample } from "../support/sim.ts";
import { type RunningWorker, startWorker, workerdSuite } from "../support/workerd.ts";

// workerd is the runtime under test, whatever runs the file: it runs once, under Node's runner.
const NAME = "response sizes in workerd (wrangler dev, Miniflare)";
workerdSuite(NAME, suite);

function suite(): void {
  let worker: RunningWorker | undefined;
  after(async () => await worker?.stop());

  test("every body's size is what was sent, through the middleware and through instrument", async () => {
    worker = await startWorker({ PROMETHEUS_METRICS_PUBLIC: "true" }, "tests/support/fixtures/workers_sizes.ts");
    const w = worker;
    const received: Record<string, number> = {};
    for (const prefix of ["/middleware", "/instrument"]) {
      for (const path of [...Object.keys(SIZED), ...Object.keys(UNSIZED)]) {
        const res = await fetch(`${w.url}${prefix}${path}`);
        assert.ok(res.status < 300, `${prefix}${path}: ${res.status}`);
        received[`${prefix}${path}`] = (await res.arrayBuffer()).byteLength;
      }
    }
    const route = (path: string) => `{method="GET",route="${path}"}`;
    const last = `/instrument${Object.keys(SIZED).at(-1)}`;
    const text = await until("the last response's size on /metrics", async () => {
      const res = await fetch(`${w.url}/metrics`);
      const body = await res.text();
      return res.status === 200 && sample(body, `hono_worker_response_size_bytes_count${route(last)}`) ? body : "";
    }, 15_000);
    for (const prefix of ["/middleware", "/instrument"]) {
      const recorded = (path: string) => ({
        count: sample(text, `hono_worker_response_size_bytes_count${route(prefix + path)}`),
        sum: sample(text, `hono_worker_response_size_bytes_sum${route(prefix + path)}`),
      });
      const actual = Object.fromEntries(Object.keys(SIZED).map((path) => [path, recorded(path)]));
      const expected = Object.fromEntries(
        Object.keys(SIZED).map((path) => [path, { count: 1, sum: received[prefix + path] }]),
      );
      assert.deepEqual(actual, expected, prefix);
      for (const path of Object.keys(UNSIZED)) {
        assert.ok(received[prefix + path] > 0, `${prefix}${path} sent a body`);
        assert.deepEqual(recorded(path), { count: undefined, sum: undefined }, `${prefix}${path}: unknown length`);
      }
    }
    assert.doesNotMatch(w.output(), /Uncaught|cross-context/);
  });
}
