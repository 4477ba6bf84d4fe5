/** The baseline for the Workers bundle size: the example's routes on bare Hono, no metrics. */
import { Hono } from "hono";

const app = new Hono();
app.get("/users/:id", (c) => c.json({ id: c.req.param("id") }));
app.get("/error", () => {
  throw new Error("this route always fails");
});

export default app;
