/**
 * A request that passes several of our recorders (a middleware on the app and one on a sub-app,
 * the same middleware twice, `instrument` around an app with a middleware, a sub-app served with
 * `sub.fetch` from a handler) is recorded once, by the outermost, with the route the innermost
 * matched.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Hono, type MiddlewareHandler } from "hono";
import { createExporter, type Exporter, instrument, prometheus, Registry } from "../../mod.ts";
import { MemoryStorage } from "../../src/storage/memory.ts";
import { sample } from "../support/sim.ts";

class ValidationError extends Error {}

function makeExporter(registry = new Registry(), storage = new MemoryStorage()): Exporter {
  return createExporter({ registry, storage, metricsServer: false });
}

/** `users` (an app to mount, or to serve from a handler) with `middlewares`, one route, one that throws, and an error handler. */
function withUsers(users: Hono, ...middlewares: MiddlewareHandler[]): Hono {
  for (const middleware of middlewares) users.use(middleware);
  users.get("/users/:id", (c) => c.json({ id: c.req.param("id") }));
  users.get("/boom", () => {
    throw new ValidationError("bad");
  });
  users.onError((_error, c) => c.text("handled by the sub-app", 500));
  return users;
}

async function send(fetch: (request: Request) => Response | Promise<Response>, path: string): Promise<number> {
  const res = await fetch(new Request(`http://localhost${path}`));
  await res.body?.cancel();
  return res.status;
}

/** Sends three requests to `/users/:id` under `prefix` and returns what the exporter shows. */
async function threeRequests(
  fetch: (request: Request) => Response | Promise<Response>,
  exporter: Exporter,
  prefix = "",
): Promise<string> {
  for (let i = 0; i < 3; i++) assert.equal(await send(fetch, `${prefix}/users/${i}`), 200);
  return await exporter.collect();
}

/** Asserts three requests to `route`, in the counter and in the duration histogram, and no other. */
function assertThree(text: string, route: string): void {
  const labels = `method="GET",route="${route}",status="200"`;
  assert.equal(sample(text, `hono_worker_requests_total{${labels}}`), 3, text);
  assert.equal(sample(text, `hono_worker_request_duration_seconds_count{${labels}}`), 3);
  assert.equal(sample(text, `hono_worker_request_duration_seconds_bucket{${labels},le="+Inf"}`), 3);
  const requests = text.split("\n").filter((l) => l.startsWith("hono_worker_requests_total{"));
  assert.equal(requests.length, 1, requests.join("\n"));
}

describe("one record per request, however many recorders it passes", () => {
  test("a middleware on the app and one on a sub-app mounted with app.route count a request once", async () => {
    const exporter = makeExporter();
    const users = withUsers(new Hono(), prometheus({ exporter }));
    const app = new Hono();
    app.use(prometheus({ exporter }));
    app.route("/api", users);
    assertThree(await threeRequests(app.fetch, exporter, "/api"), "/api/users/:id");
  });

  test("the same middleware twice on one app, or two of one exporter, count a request once", async () => {
    const exporter = makeExporter();
    const middleware = prometheus({ exporter });
    const twice = new Hono();
    twice.use(middleware);
    twice.use(middleware);
    twice.get("/users/:id", (c) => c.text("ok"));
    assertThree(await threeRequests(twice.fetch, exporter), "/users/:id");

    const other = makeExporter();
    const two = new Hono();
    two.use(prometheus({ exporter: other }));
    two.use("/users/*", prometheus({ exporter: other }));
    two.get("/users/:id", (c) => c.text("ok"));
    assertThree(await threeRequests(two.fetch, other), "/users/:id");
  });

  test("two createExporter calls on one registry give middlewares that count a request once", async () => {
    const registry = new Registry();
    const storage = new MemoryStorage();
    const first = makeExporter(registry, storage);
    const second = makeExporter(registry, storage);
    const users = withUsers(new Hono(), prometheus({ exporter: second }));
    const app = new Hono();
    app.use(prometheus({ exporter: first }));
    app.route("/api", users);
    assertThree(await threeRequests(app.fetch, first, "/api"), "/api/users/:id");
  });

  test("instrument(app) around an app with the middleware inside counts a request once", async () => {
    const exporter = makeExporter();
    const users = withUsers(new Hono(), prometheus({ exporter }));
    const app = new Hono();
    app.use(prometheus({ exporter }));
    app.route("/api", users);
    const fetch = instrument(app, { exporter });
    assertThree(await threeRequests(fetch, exporter, "/api"), "/api/users/:id");
  });

  test("a sub-app served with sub.fetch(c.req.raw) from a handler counts once, with the sub-app's route and error", async () => {
    for (
      const [outer, inner] of [["middleware", "middleware"], ["instrument", "middleware"], ["middleware", "instrument"]]
    ) {
      const how = `${inner} inside ${outer}`;
      const exporter = makeExporter();
      const legacy = withUsers(
        new Hono().basePath("/legacy"),
        ...(inner === "middleware" ? [prometheus({ exporter })] : []),
      );
      const legacyFetch = inner === "middleware" ? legacy.fetch : instrument(legacy, { exporter });
      const app = new Hono();
      if (outer === "middleware") app.use(prometheus({ exporter }));
      app.all("/legacy/*", (c) => legacyFetch(c.req.raw, c.env));
      const fetch = outer === "middleware" ? app.fetch : instrument(app, { exporter });
      assertThree(await threeRequests(fetch, exporter, "/legacy"), "/legacy/users/:id");
      assert.equal(await send(fetch, "/legacy/boom"), 500);
      const text = await exporter.collect();
      const boom = 'error_type="ValidationError",method="GET",route="/legacy/boom"';
      assert.equal(sample(text, `hono_worker_failed_requests_total{${boom}}`), 1, how);
      assert.equal(sample(text, `hono_worker_error_handling_total{${boom}}`), 1, how);
      assert.equal(sample(text, 'hono_worker_requests_total{method="GET",route="/legacy/boom",status="500"}'), 1, how);
    }
  });

  test("the outermost records the final response, as the middlewares between them left it", async () => {
    const exporter = makeExporter();
    const teapot: MiddlewareHandler = async (c, next) => {
      await next();
      c.res = new Response("short and stout", { status: 418 });
    };
    const app = new Hono();
    app.use(prometheus({ exporter }));
    app.use(teapot);
    app.use(prometheus({ exporter }));
    app.get("/users/:id", (c) => c.text("ok"));
    for (let i = 0; i < 3; i++) assert.equal(await send(app.fetch, `/users/${i}`), 418);
    const text = await exporter.collect();
    assert.equal(sample(text, 'hono_worker_requests_total{method="GET",route="/users/:id",status="418"}'), 3);
    assert.equal(sample(text, 'hono_worker_requests_total{method="GET",route="/users/:id",status="200"}'), undefined);
  });

  test("middlewares of two registries each count a request once; one Request served twice counts twice", async () => {
    const [outer, inner] = [makeExporter(), makeExporter()];
    const users = withUsers(new Hono(), prometheus({ exporter: inner }), prometheus({ exporter: outer }));
    const app = new Hono();
    app.use(prometheus({ exporter: outer }));
    app.route("/api", users);
    assertThree(await threeRequests(app.fetch, outer, "/api"), "/api/users/:id");
    assertThree(await inner.collect(), "/api/users/:id");

    const exporter = makeExporter();
    const again = new Hono();
    again.use(prometheus({ exporter }));
    again.get("/users/:id", (c) => c.text("ok"));
    const request = new Request("http://localhost/users/1");
    for (let i = 0; i < 3; i++) assert.equal((await again.fetch(request)).status, 200);
    assertThree(await exporter.collect(), "/users/:id");
  });
});
