import assert from "node:assert/strict";
import { connect } from "node:net";
import { describe, test } from "node:test";
import { Hono } from "hono";
import { prometheus } from "../../src/hono/middleware.ts";
import { createExporter, serve } from "../../src/adapter/auto.ts";
import { createExporterFor } from "../../src/adapter/entry/factory.ts";
import { hostRuntime } from "../../src/adapter/host_runtime.ts";
import { Registry } from "../../src/core/values/metrics.ts";
import { MemoryStorage } from "../../src/storage/memory.ts";
import { until } from "../support/poll.ts";
import { RUNTIME } from "../support/runtime.ts";
import { MemoryLogger, sample } from "../support/sim.ts";

/** An exporter for `port`; `binds` counts its attempts to bind the metrics server. */
function exporterOn(
  port: number,
  logger: MemoryLogger,
  serverRetry: { attempts?: number; initialDelayMs?: number; standbyMs?: number } = {
    attempts: 5,
    initialDelayMs: 100,
  },
  binds = { count: 0 },
) {
  const runtime = hostRuntime();
  const serveCounted: typeof runtime.serve = (handler, options) => {
    binds.count++;
    return runtime.serve!(handler, options);
  };
  return createExporterFor({ ...runtime, serve: serveCounted }, {
    registry: new Registry(),
    storage: new MemoryStorage(),
    metricsPort: port,
    bindAddress: "127.0.0.1",
    logger,
    handleSignals: false,
    serverRetry,
  });
}

describe(`metrics server on ${RUNTIME}`, () => {
  test("whenReady serves the aggregate on the configured port", async () => {
    const logger = new MemoryLogger();
    const exporter = exporterOn(0, logger);
    await exporter.whenReady();
    const port = exporter.metricsServer?.port;
    assert.ok(port && port > 0);
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /^hono_worker_memory_bytes\{worker_id="[^"]+"\} [1-9]\d*$/m);
    await exporter.onExit();
    await assert.rejects(fetch(`http://127.0.0.1:${port}/metrics`), "the server is closed by onExit");
  });

  test("a port conflict is retried, and binds once the port is freed", async () => {
    const blocker = await serve(() => new Response("other app"), { port: 0, hostname: "127.0.0.1" });
    const port = blocker.port;
    const logger = new MemoryLogger();
    const binds = { count: 0 };
    const exporter = exporterOn(port, logger, undefined, binds);
    const ready = exporter.whenReady();
    await until("a second bind attempt (the first one failed)", () => binds.count >= 2);
    await blocker.close();
    await ready;
    assert.equal(exporter.metricsServer?.port, port);
    assert.equal((await fetch(`http://127.0.0.1:${port}/metrics`)).status, 200);
    assert.deepEqual(logger.lines.filter((l) => l.startsWith("error")), []);
    await exporter.onExit();
  });

  test("a port that stays taken: gives up after the attempts with one clear line, no crash", async () => {
    const blocker = await serve(() => new Response("other app"), { port: 0, hostname: "127.0.0.1" });
    const port = blocker.port;
    const logger = new MemoryLogger();
    const exporter = exporterOn(port, logger, { attempts: 3, initialDelayMs: 100 });
    const started = Date.now();
    await exporter.whenReady();
    assert.ok(Date.now() - started >= 300, "waited 100 + 200 ms between the 3 attempts");
    assert.equal(exporter.metricsServer, undefined);
    const errors = logger.lines.filter((l) => l.startsWith("error"));
    assert.equal(errors.length, 1);
    assert.match(
      errors[0],
      new RegExp(`could not listen on 127.0.0.1:${port} after 3 attempts .*PROMETHEUS_METRICS_PORT`),
    );
    assert.equal(await (await fetch(`http://127.0.0.1:${port}/`)).text(), "other app");
    await exporter.onExit();
    await blocker.close();
  });

  test("with standby, a process that could not bind takes the metrics server over when the holder exits", async () => {
    const holderLogs = new MemoryLogger();
    const standbyLogs = new MemoryLogger();
    const holder = exporterOn(0, holderLogs, { attempts: 1, standbyMs: 100 });
    await holder.whenReady();
    const port = holder.metricsServer!.port;
    const standby = exporterOn(port, standbyLogs, { attempts: 1, standbyMs: 100 });
    await standby.whenReady();
    assert.equal(holder.metricsServer?.port, port);
    assert.equal(standby.metricsServer, undefined, "the port is taken");
    assert.equal(standbyLogs.lines.join("\n"), "", "standing by is the normal start of all but one: nothing to say");
    await holder.onExit();
    const taken = await until("the standby to take the port over", () => standby.metricsServer, 5000);
    assert.equal(taken.port, port);
    assert.equal((await fetch(`http://127.0.0.1:${port}/metrics`)).status, 200);
    assert.ok(standbyLogs.lines.some((l) => l.includes("metrics server taken over")));
    await standby.onExit();
  });

  test("a request whose Host makes no URL is refused 400 by the server, counted under route malformed, no error text echoed", async () => {
    const exporter = createExporter({
      registry: new Registry(),
      storage: new MemoryStorage(),
      metricsServer: false,
      handleSignals: false,
      minScrapeIntervalMs: 0,
    });
    const app = new Hono();
    app.use(prometheus({ exporter }));
    app.get("/", (c) => c.text("ok"));
    const server = await serve(app.fetch, { port: 0, hostname: "127.0.0.1" });
    try {
      const reply = await new Promise<string>((resolve, reject) => {
        let out = "";
        const socket = connect(
          server.port,
          "127.0.0.1",
          () => socket.write("GET / HTTP/1.1\r\nHost: a b\r\nConnection: close\r\n\r\n"),
        );
        socket.on("data", (d) => (out += d));
        socket.on("close", () => resolve(out));
        socket.on("error", reject);
      });
      assert.match(
        reply,
        /^HTTP\/1\.1 400 /,
        "Bun and Deno would hand it to the app; every adapter's serve refuses it",
      );
      assert.doesNotMatch(reply, /Failed to parse|TypeError|internal error/i);
      const text = await (await exporter.scrape(new Request("http://x/metrics"))).text();
      assert.equal(sample(text, `hono_worker_requests_total{method="GET",route="malformed",status="400"}`), 1);
      assert.equal(sample(text, `hono_worker_requests_total{method="GET",route="/",status="200"}`), undefined);
    } finally {
      await server.close();
      await exporter.onExit();
    }
  });

  test("a handler that throws or rejects gets a plain 500: no stack, no source, no HTML page", async () => {
    const server = await serve((request) => {
      const failure = new Error(`failed at /srv/app/secret.ts:12:3 for ${request.url}`);
      if (new URL(request.url).pathname === "/throws") throw failure;
      return Promise.reject(failure);
    }, { port: 0, hostname: "127.0.0.1" });
    const logged: unknown[] = [];
    const originalError = console.error;
    console.error = (...args: unknown[]) => void logged.push(args); // the cause goes to the log
    try {
      for (const path of ["/throws", "/rejects"]) {
        const res = await fetch(`http://127.0.0.1:${server.port}${path}`);
        const body = await res.text();
        assert.equal(res.status, 500, path);
        assert.equal(res.headers.get("content-type"), "text/plain; charset=utf-8", path);
        assert.equal(body, "Internal Server Error\n", path);
      }
      assert.ok(logged.length >= 2, "each failure is logged");
    } finally {
      console.error = originalError;
      await server.close();
    }
  });

  test("the metrics handler answers a request whose URL is not absolute (as Bun hands on for a bad Host) with a plain 400", async () => {
    const exporter = exporterOn(0, new MemoryLogger());
    // Bun's server makes `url` the bare path when the Host makes no URL; a Request cannot be built so.
    const request = { url: "/metrics", method: "GET", headers: new Headers({ host: "a b" }) } as unknown as Request;
    const res = await exporter.fetch(request);
    assert.equal(res.status, 400);
    assert.equal(res.headers.get("content-type"), "text/plain; charset=utf-8");
    assert.match(await res.text(), /^Bad Request: [^\n]*\n$/);
    await exporter.onExit();
  });
});
