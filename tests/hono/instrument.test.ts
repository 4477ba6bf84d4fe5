/**
 * The app wrapper records exactly what the middleware records: the same traffic (matched routes,
 * a body, errors caught by `onError`, an HTTPException, a 5xx without an error, 404s, HEAD, an
 * unknown method, the app's own middleware, a route served by its second handler) through an app
 * with `app.use(prometheus(...))` and through the same app wrapped with `instrument(...)` gives the
 * same series: every counter value, and every histogram's count and size buckets (durations differ).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { createExporter, instrument, prometheus, Registry } from "../../mod.ts";
import { MemoryStorage } from "../../src/storage/memory.ts";
import { promtoolCheck } from "../support/promtool.ts";

class ValidationError extends Error {}

function routes(app: Hono): Hono {
  app.use("/api/*", async (c, next) => {
    await next();
    c.header("x-api", "1");
  });
  app.get("/users/:id", (c) => c.json({ id: c.req.param("id") }));
  app.post("/upload", async (c) => c.text(`got ${(await c.req.text()).length}`, 201, { "content-length": "6" }));
  app.get("/boom", () => {
    throw new ValidationError("bad");
  });
  app.get("/denied", () => {
    throw new HTTPException(403, { message: "no" });
  });
  app.get("/unavailable", (c) => c.text("down", 503));
  app.get("/api/items/:id", (c) => c.json({ item: c.req.param("id") }));
  app.get("/chain/:id", async (_c, next) => await next(), (c) => c.text("second"));
  app.onError((err, c) => (err instanceof HTTPException ? err.getResponse() : c.text("internal error", 500)));
  return app;
}

async function traffic(fetch: (request: Request) => Response | Promise<Response>): Promise<number[]> {
  const statuses: number[] = [];
  const send = async (path: string, init?: RequestInit) =>
    statuses.push((await fetch(new Request(`http://localhost${path}`, init))).status);
  for (let i = 0; i < 3; i++) await send(`/users/${i}`);
  await send("/upload", { method: "POST", body: "hello", headers: { "content-length": "5" } });
  await send("/boom");
  await send("/denied");
  await send("/unavailable");
  await send("/nowhere");
  await send("/api/nothing");
  await send("/api/items/7");
  await send("/chain/1");
  await send("/users/9", { method: "HEAD" });
  await send("/users/1", { method: "PURGE" });
  return statuses;
}

/** The exporter's text without the duration histograms' buckets and sums, which depend on time. */
function comparable(text: string): string[] {
  return text.split("\n")
    .filter((l) =>
      l.startsWith("hono_worker_") && !l.startsWith("hono_worker_state") && !/^hono_worker_(memory|cpu|uptime)/.test(l)
    )
    .filter((l) => !/^hono_worker_request_duration_seconds_(bucket|sum)/.test(l))
    .sort();
}

describe("instrument(app)", () => {
  test("records the same series as the middleware for the same traffic, errors and 404s included", async () => {
    const make = () =>
      createExporter({ registry: new Registry(), storage: new MemoryStorage(), metricsServer: false, workerId: "w" });
    const viaMiddleware = make();
    const middlewareApp = new Hono();
    middlewareApp.use(prometheus({ exporter: viaMiddleware }));
    routes(middlewareApp);
    const viaWrapper = make();
    const wrapped = instrument(routes(new Hono()), { exporter: viaWrapper });

    const a = await traffic(middlewareApp.fetch);
    const b = await traffic(wrapped);
    assert.deepEqual(b, a, "the wrapper changes no response");
    const [textA, textB] = [await viaMiddleware.collect(), await viaWrapper.collect()];
    assert.ok(comparable(textA).length > 30, "the traffic made series");
    assert.deepEqual(comparable(textB), comparable(textA));
    assert.match(textB, /hono_worker_requests_total\{method="GET",route="\/\*",status="404"\} 1/);
    assert.match(textB, /hono_worker_requests_total\{method="GET",route="\/chain\/:id",status="200"\} 1/);
    assert.match(
      textB,
      /hono_worker_error_handling_total\{error_type="ValidationError",method="GET",route="\/boom"\} 1/,
    );
    assert.equal(promtoolCheck(textB), "");
  });

  test("onError set after instrument() still has its errors counted; a second instrument() of one app is refused", async () => {
    const exporter = createExporter({ registry: new Registry(), storage: new MemoryStorage(), metricsServer: false });
    const app = new Hono();
    app.get("/boom", () => {
      throw new ValidationError("bad");
    });
    const fetch = instrument(app, { exporter });
    app.onError((_err, c) => c.text("handled later", 500));
    const res = await fetch(new Request("http://localhost/boom"));
    assert.equal(await res.text(), "handled later");
    assert.match(
      await exporter.collect(),
      /hono_worker_error_handling_total\{error_type="ValidationError",method="GET",route="\/boom"\} 1/,
    );
    assert.throws(() => instrument(app, { exporter }), /instrumented already/);
  });
});
