/**
 * Response sizes for every kind of body, through the middleware and through `instrument`, served
 * by the runtime's own server (this package's `serve`) and, on Node, by @hono/node-server (whose
 * lightweight Responses are what apps get there): each response is recorded once, with the number
 * of body bytes the client received; a stream of undeclared length is not recorded.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Hono } from "hono";
import { createExporter, type Exporter, instrument, prometheus, Registry } from "../../mod.ts";
import { serve } from "../../src/adapter/auto.ts";
import { MemoryStorage } from "../../src/storage/memory.ts";
import { SIZED, sizedRoutes, UNSIZED } from "../support/fixtures/sized_routes.ts";
import { RUNTIME } from "../support/runtime.ts";
import { sample } from "../support/sim.ts";

type Fetch = (request: Request) => Response | Promise<Response>;
interface Served {
  readonly port: number;
  close(): Promise<void>;
}
type Wrap = "middleware" | "instrument";

function instrumented(wrap: Wrap): { exporter: Exporter; fetch: Fetch } {
  const exporter = createExporter({ registry: new Registry(), storage: new MemoryStorage(), metricsServer: false });
  const app = new Hono();
  if (wrap === "middleware") app.use(prometheus({ exporter }));
  sizedRoutes(app);
  return { exporter, fetch: wrap === "middleware" ? app.fetch : instrument(app, { exporter }) };
}

/** Requests every route once; returns the recorded count and sum, and the bytes received, by route. */
async function measure(port: number, exporter: Exporter) {
  const received: Record<string, number> = {};
  for (const path of [...Object.keys(SIZED), ...Object.keys(UNSIZED)]) {
    const res = await fetch(`http://127.0.0.1:${port}${path}`);
    assert.ok(res.status < 300, `${path}: ${res.status}`);
    received[path] = (await res.arrayBuffer()).byteLength;
    const declared = res.headers.get("content-length");
    if (declared !== null) assert.equal(Number(declared), received[path], `${path}: content-length on the wire`);
  }
  const text = await exporter.collect();
  const recorded = (path: string) => {
    const series = `{method="GET",route="${path}"}`;
    return {
      count: sample(text, `hono_worker_response_size_bytes_count${series}`),
      sum: sample(text, `hono_worker_response_size_bytes_sum${series}`),
    };
  };
  return { received, recorded };
}

async function assertSizes(served: Served, exporter: Exporter): Promise<void> {
  try {
    const { received, recorded } = await measure(served.port, exporter);
    const actual = Object.fromEntries(Object.keys(SIZED).map((path) => [path, recorded(path)]));
    const expected = Object.fromEntries(Object.keys(SIZED).map((path) => [path, { count: 1, sum: received[path] }]));
    assert.deepEqual(actual, expected);
    for (const path of Object.keys(UNSIZED)) {
      assert.ok(received[path] > 0, `${path} sent a body`);
      assert.deepEqual(recorded(path), { count: undefined, sum: undefined }, `${path}: a stream of unknown length`);
    }
  } finally {
    await served.close();
    await exporter.onExit();
  }
}

for (const wrap of ["middleware", "instrument"] as const) {
  test(`every body's size is what was sent, through ${wrap}, served by this package's serve (${RUNTIME})`, async () => {
    const { exporter, fetch } = instrumented(wrap);
    const server = await serve(fetch, { port: 0, hostname: "127.0.0.1" });
    await assertSizes({ port: server.port, close: () => server.close() }, exporter);
  });
}

// @hono/node-server puts its own Request and Response in place of the global ones while it
// serves: these tests come last, and give the globals back.
for (const wrap of ["middleware", "instrument"] as const) {
  const name = `every body's size is what was sent, through ${wrap}, served by @hono/node-server`;
  if (RUNTIME !== "node") {
    test(`${name} (skipped on ${RUNTIME}: apps there are served by ${RUNTIME}'s own server)`, { skip: true }, () => {});
    continue;
  }
  test(`${name} (node)`, async () => {
    const globals = { Request: globalThis.Request, Response: globalThis.Response };
    const { serve: nodeServe } = await import("@hono/node-server");
    const { exporter, fetch } = instrumented(wrap);
    const server = await new Promise<ReturnType<typeof nodeServe>>((resolve) => {
      const s = nodeServe({ fetch, port: 0, hostname: "127.0.0.1" }, () => resolve(s));
    });
    try {
      assert.notEqual(globalThis.Response, globals.Response, "the lightweight Response is in use");
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      await assertSizes({ port, close: () => new Promise((resolve) => server.close(() => resolve())) }, exporter);
    } finally {
      for (const [name, value] of Object.entries(globals)) {
        Object.defineProperty(globalThis, name, { value, writable: true, configurable: true });
      }
    }
  });
}
