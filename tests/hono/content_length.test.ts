import assert from "node:assert/strict";
import { test } from "node:test";
import { Hono } from "hono";
import { serve } from "@hono/node-server";
import { createExporter, prometheus, Registry } from "../../mod.ts";
import { responseContentLength } from "../../src/hono/content_length.ts";
import { MemoryStorage } from "../../src/storage/memory.ts";
import { RUNTIME } from "../support/runtime.ts";
import { sample } from "../support/sim.ts";

test("content-length of a standard Response, set or not", () => {
  assert.equal(responseContentLength(new Response("abc", { headers: { "content-length": "3" } })), "3");
  assert.equal(responseContentLength(new Response("abc")), null);
});

test(`response sizes are recorded behind @hono/node-server's lightweight responses (${RUNTIME})`, async () => {
  const exporter = createExporter({ registry: new Registry(), storage: new MemoryStorage(), metricsServer: false });
  const app = new Hono();
  app.use(prometheus({ exporter }));
  app.get("/sized", (c) => c.body("hello", 200, { "content-length": "5" }));
  app.get("/list", () => new Response("abcd", { headers: [["Content-Length", "4"]] }));
  app.get("/unsized", (c) => c.text("no length"));
  app.get("/headers", () => new Response("abcdef", { headers: new Headers({ "Content-Length": "6" }) }));
  // A header named "get" must not pass for a Headers object.
  app.get("/odd", () => new Response("ab", { headers: { get: "x", "content-length": "2" } }));
  // node-server swaps in its own global Request and Response while serving; give them back after,
  // since Bun runs every test file in one process.
  const globals = { Request: globalThis.Request, Response: globalThis.Response };
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, () => resolve(s));
  });
  try {
    const address = server.address();
    const port = typeof address === "object" && address ? address.port : 0;
    for (const path of ["/sized", "/list", "/unsized", "/headers", "/odd"]) {
      assert.equal((await fetch(`http://127.0.0.1:${port}${path}`)).status, 200);
    }
    // Deno's globals are read-only, so node-server keeps the standard Response there.
    if (RUNTIME !== "deno") {
      assert.notEqual(globalThis.Response, globals.Response, "the lightweight Response is in use");
    }
    const text = await exporter.collect();
    assert.equal(sample(text, 'hono_worker_response_size_bytes_sum{method="GET",route="/sized"}'), 5);
    assert.equal(sample(text, 'hono_worker_response_size_bytes_sum{method="GET",route="/list"}'), 4);
    assert.equal(sample(text, 'hono_worker_response_size_bytes_sum{method="GET",route="/headers"}'), 6);
    assert.equal(sample(text, 'hono_worker_response_size_bytes_sum{method="GET",route="/odd"}'), 2);
    assert.equal(sample(text, 'hono_worker_response_size_bytes_count{method="GET",route="/unsized"}'), undefined);
  } finally {
    await new Promise((resolve) => server.close(resolve));
    for (const [name, value] of Object.entries(globals)) {
      if ((globalThis as Record<string, unknown>)[name] !== value) {
        Object.defineProperty(globalThis, name, { value, writable: true, configurable: true });
      }
    }
  }
});
