import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { createExporter, metricsHandler, prometheus, Registry } from "../../mod.ts";
import { MemoryStorage } from "../../src/storage/memory.ts";
import { promtoolCheck } from "../support/promtool.ts";
import { MemoryLogger, sample } from "../support/sim.ts";

class ValidationError extends Error {}

function setup(options: { requestsByWorker?: boolean } = {}) {
  const logger = new MemoryLogger();
  const exporter = createExporter({
    registry: new Registry(),
    storage: new MemoryStorage(),
    metricsServer: false,
    workerId: "worker_1",
    logger,
  });
  const app = new Hono();
  app.use(prometheus({ exporter, ...options }));
  app.get("/users/:id", (c) => c.json({ id: c.req.param("id") }));
  app.post("/upload", async (c) => c.text(`got ${(await c.req.text()).length}`, 201, { "content-length": "6" }));
  app.get("/boom", () => {
    throw new ValidationError("bad");
  });
  app.get("/denied", () => {
    throw new HTTPException(403, { message: "no" });
  });
  app.get("/unavailable", (c) => c.text("down", 503));
  app.get("/metrics", metricsHandler(exporter));
  app.onError((err, c) => (err instanceof HTTPException ? err.getResponse() : c.text("internal error", 500)));
  return { exporter, app, logger };
}

describe("middleware", () => {
  test("counts requests by method, matched route pattern and status, never the raw path", async () => {
    const { app } = setup();
    for (let i = 0; i < 7; i++) assert.equal((await app.request(`/users/${i}`)).status, 200);
    const text = await (await app.request("/metrics")).text();
    assert.equal(sample(text, 'hono_worker_requests_total{method="GET",route="/users/:id",status="200"}'), 7);
    assert.equal(
      sample(text, 'hono_worker_request_duration_seconds_count{method="GET",route="/users/:id",status="200"}'),
      7,
    );
    assert.doesNotMatch(text, /\/users\/3/);
  });

  test("a handler that throws is failed with its class name, and reached the error handler", async () => {
    const { app } = setup();
    assert.equal((await app.request("/boom")).status, 500);
    assert.equal((await app.request("/denied")).status, 403);
    const text = await (await app.request("/metrics")).text();
    assert.equal(
      sample(text, 'hono_worker_failed_requests_total{error_type="ValidationError",method="GET",route="/boom"}'),
      1,
    );
    assert.equal(
      sample(text, 'hono_worker_error_handling_total{error_type="ValidationError",method="GET",route="/boom"}'),
      1,
    );
    assert.equal(
      sample(text, 'hono_worker_failed_requests_total{error_type="HTTPException",method="GET",route="/denied"}'),
      1,
    );
    assert.equal(sample(text, 'hono_worker_requests_total{method="GET",route="/denied",status="403"}'), 1);
  });

  test("a 5xx status without an error is failed as http_5xx and did not reach the error handler", async () => {
    const { app } = setup();
    await app.request("/unavailable");
    const text = await (await app.request("/metrics")).text();
    assert.equal(
      sample(text, 'hono_worker_failed_requests_total{error_type="http_5xx",method="GET",route="/unavailable"}'),
      1,
    );
    assert.equal(
      sample(text, 'hono_worker_error_handling_total{error_type="http_5xx",method="GET",route="/unavailable"}'),
      undefined,
    );
  });

  test("records request and response sizes when the content-length is known", async () => {
    const { app } = setup();
    const body = "x".repeat(300);
    const res = await app.request("/upload", { method: "POST", body, headers: { "content-length": "300" } });
    assert.equal(res.status, 201);
    const text = await (await app.request("/metrics")).text();
    assert.equal(sample(text, 'hono_worker_request_size_bytes_sum{method="POST",route="/upload"}'), 300);
    assert.equal(sample(text, 'hono_worker_request_size_bytes_bucket{method="POST",route="/upload",le="256"}'), 0);
    assert.equal(sample(text, 'hono_worker_request_size_bytes_bucket{method="POST",route="/upload",le="1024"}'), 1);
    assert.equal(sample(text, 'hono_worker_response_size_bytes_sum{method="POST",route="/upload"}'), 6);
  });

  test("unknown methods are folded into OTHER and unmatched paths into the middleware's pattern", async () => {
    const { app } = setup();
    await app.request("/nowhere/1");
    await app.request("/nowhere/2");
    await app.request("/users/1", { method: "PURGE" });
    const text = await (await app.request("/metrics")).text();
    assert.equal(sample(text, 'hono_worker_requests_total{method="GET",route="/*",status="404"}'), 2);
    assert.equal(sample(text, 'hono_worker_requests_total{method="OTHER",route="/*",status="404"}'), 1);
  });

  test("worker_id is added to the request counter only when asked", async () => {
    const { app } = setup({ requestsByWorker: true });
    await app.request("/users/1");
    const text = await (await app.request("/metrics")).text();
    assert.equal(
      sample(text, 'hono_worker_requests_total{method="GET",route="/users/:id",status="200",worker_id="worker_1"}'),
      1,
    );
  });

  test("a metrics failure never fails the request; it is logged once", async () => {
    const { app, exporter, logger } = setup();
    // Sabotage a histogram the way a broken metric could.
    const sizes = exporter.registry.getSingleMetric("hono_worker_request_size_bytes") as unknown as {
      observe: () => void;
    };
    sizes.observe = () => {
      throw new Error("sabotaged");
    };
    for (let i = 0; i < 3; i++) {
      const res = await app.request("/upload", { method: "POST", body: "abc", headers: { "content-length": "3" } });
      assert.equal(res.status, 201);
      assert.equal(await res.text(), "got 3");
    }
    assert.equal(logger.lines.filter((l) => l.includes("recording HTTP metrics failed")).length, 1);
    const text = await (await app.request("/metrics")).text();
    assert.equal(sample(text, 'hono_worker_requests_total{method="POST",route="/upload",status="201"}'), 3);
  });

  test("the request metrics render through a plain prom-client registry too", async () => {
    const { app, exporter } = setup();
    await app.request("/users/1");
    await app.request("/users/2");
    const text = await exporter.registry.metrics();
    assert.match(text, /^hono_worker_requests_total\{method="GET",route="\/users\/:id",status="200"\} 2$/m);
    assert.match(
      text,
      /^hono_worker_request_duration_seconds_bucket\{method="GET",route="\/users\/:id",status="200",le="\+Inf"\} 2$/m,
    );
    assert.match(
      text,
      /^hono_worker_request_duration_seconds_count\{method="GET",route="\/users\/:id",status="200"\} 2$/m,
    );
    assert.equal(promtoolCheck(text), "");
  });

  test("the handler negotiates OpenMetrics and its output passes promtool in text format", async () => {
    const { app } = setup();
    await app.request("/users/1");
    await app.request("/boom");
    const plain = await app.request("/metrics");
    assert.equal(plain.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
    assert.equal(promtoolCheck(await plain.text()), "");
    const open = await app.request("/metrics", { headers: { accept: "application/openmetrics-text; version=1.0.0" } });
    assert.equal(open.headers.get("content-type"), "application/openmetrics-text; version=1.0.0; charset=utf-8");
    const text = await open.text();
    assert.match(text, /^# TYPE hono_worker_requests counter$/m);
    assert.match(text, /^hono_worker_requests_total\{method="GET",route="\/users\/:id",status="200"\} 1$/m);
    assert.ok(text.endsWith("# EOF\n"));
  });
});
