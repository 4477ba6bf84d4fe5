/**
 * The routes every example serves: `GET /`, `GET /users/:id` (JSON) and `GET /error` (throws),
 * instrumented by the middleware. Each example only decides how the app is run.
 */
import { Hono } from "hono";
import { type Exporter, prometheus } from "../mod.ts";

/** The example app; `worker` names the process or slot that answers, where there are several. */
export function createApp(exporter: Exporter, worker?: string): Hono {
  const app = new Hono();
  app.use(prometheus({ exporter }));
  app.get("/", (c) => c.text(`Hello from ${worker ?? "Hono"}\n`));
  app.get("/users/:id", (c) => {
    const id = c.req.param("id");
    return c.json(worker === undefined ? { id, name: `user ${id}` } : { id, name: `user ${id}`, worker });
  });
  app.get("/error", () => {
    throw new Error("this route always fails");
  });
  app.onError((error, c) => c.text(`internal error: ${error.message}\n`, 500));
  return app;
}
