/**
 * The routes every example serves: `GET /`, `GET /users/:id` (JSON), `POST /users` (JSON in and
 * out), `GET /robots.txt` (a static file, with its length) and `GET /error` (throws), instrumented
 * by the middleware. Each example only decides how the app is run.
 */
import { Hono } from "hono";
import { type Exporter, prometheus } from "../mod.ts";

const ROBOTS = "User-agent: *\nDisallow: /error\n";

/** The example app; `worker` names the process or slot that answers, where there are several. */
export function createApp(exporter: Exporter, worker?: string): Hono {
  const app = new Hono();
  app.use(prometheus({ exporter }));
  app.get("/", (c) => c.text(`Hello from ${worker ?? "Hono"}\n`));
  app.get("/users/:id", (c) => {
    const id = c.req.param("id");
    return c.json(worker === undefined ? { id, name: `user ${id}` } : { id, name: `user ${id}`, worker });
  });
  app.post("/users", async (c) => {
    const body = await c.req.json().catch(() => null) as { name?: unknown } | null;
    if (typeof body?.name !== "string") return c.json({ error: 'send {"name": "..."}' }, 400);
    return c.json({ id: crypto.randomUUID(), name: body.name }, 201);
  });
  // Static files carry their length (as serveStatic sends it): it feeds the response size histogram.
  app.get(
    "/robots.txt",
    (c) => c.body(ROBOTS, 200, { "content-type": "text/plain", "content-length": `${ROBOTS.length}` }),
  );
  app.get("/error", () => {
    throw new Error("this route always fails");
  });
  app.onError((error, c) => c.text(`internal error: ${error.message}\n`, 500));
  return app;
}
