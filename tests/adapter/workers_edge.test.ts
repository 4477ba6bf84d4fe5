/**
 * The Workers entry's behaviour, on every runtime: laziness at module scope, bindings, options it
 * cannot honour, and the coalesced publish handed to waitUntil. The execution context here is a
 * stand-in that records what is handed to `waitUntil`; the real one is exercised in workerd by
 * `workers.test.ts`.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type ExecutionContext, Hono } from "hono";
import { ConfigError, metricsHandler, prometheus, Registry } from "../../mod.ts";
import { createExporter } from "../../src/adapter/workers/index.ts";
import { MemoryStorage } from "../../src/storage/memory.ts";
import { internals } from "../../src/core/exporter/exporter.ts";
import { FlakyStorage } from "../support/flaky.ts";
import { MemoryLogger, sample } from "../support/sim.ts";

const TOKEN = "t0ken-for-the-edge-tests";

class RecordingContext implements ExecutionContext {
  readonly props = {};
  readonly handed: Promise<unknown>[] = [];
  waitUntil(promise: Promise<unknown>): void {
    this.handed.push(promise);
  }
  passThroughOnException(): void {}
  settled(): Promise<unknown> {
    return Promise.all(this.handed);
  }
}

function edgeApp(options: Parameters<typeof createExporter>[0] = {}) {
  const logger = new MemoryLogger();
  const exporter = createExporter({ registry: new Registry(), logger, ...options });
  const app = new Hono();
  app.use(prometheus({ exporter }));
  app.get("/metrics", metricsHandler(exporter));
  app.get("/users/:id", (c) => c.json({ id: c.req.param("id") }));
  return { exporter, app, logger };
}

describe("Workers entry", () => {
  test("nothing random, no timer and no storage at module scope: createExporter, middleware, handler", () => {
    const calls: string[] = [];
    const realUuid = crypto.randomUUID.bind(crypto);
    const realRandom = crypto.getRandomValues.bind(crypto);
    const realTimeout = globalThis.setTimeout;
    const realInterval = globalThis.setInterval;
    const realMath = Math.random;
    crypto.randomUUID = () => (calls.push("randomUUID"), realUuid());
    (crypto as { getRandomValues: unknown }).getRandomValues = (a: Uint8Array<ArrayBuffer>) => (
      calls.push("getRandomValues"), realRandom(a)
    );
    Math.random = () => (calls.push("Math.random"), realMath());
    globalThis.setTimeout =
      ((...a: Parameters<typeof realTimeout>) => (calls.push("setTimeout"), realTimeout(...a))) as typeof setTimeout;
    globalThis.setInterval = ((
      ...a: Parameters<typeof realInterval>
    ) => (calls.push("setInterval"), realInterval(...a))) as typeof setInterval;
    try {
      const storage = new FlakyStorage(new MemoryStorage());
      const exporter = createExporter({ registry: new Registry(), storage });
      prometheus({ exporter });
      metricsHandler(exporter);
      assert.deepEqual(calls, []);
      assert.equal(storage.publishes.length + storage.reads, 0);
    } finally {
      crypto.randomUUID = realUuid;
      crypto.getRandomValues = realRandom;
      Math.random = realMath;
      globalThis.setTimeout = realTimeout;
      globalThis.setInterval = realInterval;
    }
  });

  test("Upstash bindings on the first request select the Upstash backend, with no code", async () => {
    const { app, exporter } = edgeApp({ publishAfterResponse: false });
    const env = {
      UPSTASH_REDIS_REST_URL: "http://127.0.0.1:9",
      UPSTASH_REDIS_REST_TOKEN: "x",
      REDIS_KEY_PREFIX: "edge",
    };
    assert.equal((await app.request("/users/1", {}, env)).status, 200);
    assert.equal(internals(exporter).storage.kind, "upstash");
  });

  test("without Upstash bindings, memory per isolate, said once", async () => {
    const { app, exporter, logger } = edgeApp({ publishAfterResponse: false });
    await app.request("/users/1", {}, {});
    await app.request("/users/2", {}, {});
    assert.equal(internals(exporter).storage.kind, "memory");
    assert.equal(
      logger.lines.filter((l) => l.includes("no PROMETHEUS_METRICS_OBJECT or UPSTASH_REDIS_REST_URL binding")).length,
      1,
    );
  });

  test("an option a Worker cannot honour is a ConfigError that names it", () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ multiprocDir: "/tmp/m" }, "multiprocDir"],
      [{ metricsPort: 9091 }, "metricsPort"],
      [{ bindAddress: "0.0.0.0" }, "bindAddress"],
      [{ handleSignals: true }, "handleSignals"],
      [{ metricsServer: true }, "metricsServer"],
    ];
    for (const [options, setting] of cases) {
      assert.throws(
        () => createExporter({ registry: new Registry(), ...options } as Parameters<typeof createExporter>[0]),
        (e: unknown) => e instanceof ConfigError && e.setting === setting,
        setting,
      );
    }
  });

  test("a binding a Worker cannot honour keeps the app serving, is said once, and /metrics answers why", async () => {
    const { app, logger } = edgeApp({ publicMetrics: true });
    const env = { PROMETHEUS_MULTIPROC_DIR: "/tmp/metrics" };
    for (let i = 0; i < 3; i++) assert.equal((await app.request(`/users/${i}`, {}, env)).status, 200);
    assert.equal(logger.lines.filter((l) => l.includes("PROMETHEUS_MULTIPROC_DIR")).length, 1);
    const res = await app.request("/metrics", {}, env);
    assert.equal(res.status, 500);
    assert.match(await res.text(), /PROMETHEUS_MULTIPROC_DIR: is bound, but Workers have no file system/);
  });

  test("requests within a flush window share one publish, handed to waitUntil by the request that opened it", async () => {
    const storage = new FlakyStorage(new MemoryStorage());
    const { app } = edgeApp({ storage, flushWindowMs: 50 });
    const ctx = new RecordingContext();
    for (let i = 0; i < 20; i++) await app.request(`/users/${i}`, {}, {}, ctx);
    assert.equal(ctx.handed.length, 1);
    await ctx.settled();
    assert.equal(storage.publishes.length, 1);
    for (let i = 0; i < 5; i++) await app.request(`/users/${i}`, {}, {}, ctx);
    assert.equal(ctx.handed.length, 2);
    await ctx.settled();
    assert.equal(storage.publishes.length, 2);
    const state = await storage.read();
    const key = 'hono_worker_requests_total{method="GET",route="/users/:id",status="200"}';
    assert.equal(state.processes[0].series.get(key), "25");
  });

  test("a request that ends while the window's publish is under way is published by the next window", async () => {
    const storage = new FlakyStorage(new MemoryStorage());
    storage.delayMs = 100;
    const { app } = edgeApp({ storage, flushWindowMs: 20 });
    const ctx = new RecordingContext();
    await app.request("/users/1", {}, {}, ctx);
    // Wait until the first window closed and its (slow) publish started, then finish a request.
    const deadline = Date.now() + 5_000;
    while (storage.publishes.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    await app.request("/users/2", {}, {}, ctx);
    await ctx.settled();
    assert.equal(storage.publishes.length, 2);
    const key = 'hono_worker_requests_total{method="GET",route="/users/:id",status="200"}';
    assert.equal((await storage.read()).processes[0].series.get(key), "2");
  });

  test("/metrics is refused until a token is bound; with it, only a scrape that presents it is served", async () => {
    const { app } = edgeApp({ publishAfterResponse: false });
    const refused = await app.request("/metrics", {}, {});
    assert.equal(refused.status, 403);
    assert.match(await refused.text(), /PROMETHEUS_METRICS_TOKEN/);

    const locked = edgeApp({ publishAfterResponse: false });
    const env = { PROMETHEUS_METRICS_TOKEN: TOKEN };
    await locked.app.request("/users/1", {}, env);
    assert.equal((await locked.app.request("/metrics", {}, env)).status, 401);
    const wrong = await locked.app.request("/metrics", { headers: { authorization: "Bearer nope" } }, env);
    assert.equal(wrong.status, 401);
    assert.doesNotMatch(await wrong.text(), new RegExp(TOKEN));
    const ok = await locked.app.request("/metrics", { headers: { authorization: `Bearer ${TOKEN}` } }, env);
    assert.equal(ok.status, 200);
    assert.equal(
      sample(await ok.text(), 'hono_worker_requests_total{method="GET",route="/users/:id",status="200"}'),
      1,
    );
    assert.doesNotMatch(locked.logger.lines.join("\n"), new RegExp(TOKEN));
  });

  test("PROMETHEUS_METRICS_PUBLIC=true serves the metrics to anyone", async () => {
    const { app } = edgeApp({ publishAfterResponse: false });
    assert.equal((await app.request("/metrics", {}, { PROMETHEUS_METRICS_PUBLIC: "true" })).status, 200);
  });
});
