/**
 * The app the HTTP benchmark loads, in one of the variants of `variants.ts` (BENCH_VARIANT): `bare`
 * Hono, a `noop` middleware, `clock` (a middleware that only times the request), `exporter` (this
 * library's middleware), `instrument` (this library's app wrapper, no middleware), `hono-prometheus`.
 * Runs on Node (through @hono/node-server), Bun and Deno. Prints "ready <port>" when listening.
 */
import { Hono } from "hono";
import { createExporter, runtimeName } from "../src/adapter/auto.ts";
import { Registry } from "../src/core/values/metrics.ts";
import { applyVariant, fetchOf, type Variant } from "./variants.ts";

const env = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env ?? {};
const variant = (env.BENCH_VARIANT ?? "bare") as Variant;
const app = new Hono();
const exporter = variant === "exporter" || variant === "instrument"
  ? createExporter({ registry: new Registry(), metricsServer: false, handleSignals: false })
  : undefined;
applyVariant(app, variant, () => exporter!);
const fetch = fetchOf(app, variant, () => exporter!);
await exporter?.whenReady();

const port = Number(env.PORT ?? 0);
const runtime = runtimeName();
if (runtime === "node") {
  const { serve } = await import("@hono/node-server");
  const server = serve({ fetch, port, hostname: "127.0.0.1" }, (info) => console.log(`ready ${info.port}`));
  void server;
} else {
  const { serve } = await import("../src/adapter/auto.ts");
  const server = await serve(fetch, { port, hostname: "127.0.0.1" });
  console.log(`ready ${server.port}`);
}

// For profiling: end on our own so that --cpu-prof can write its profile.
if (env.BENCH_EXIT_AFTER_MS) {
  setTimeout(
    () => (globalThis as { process?: { exit(code: number): void } }).process?.exit(0),
    Number(env.BENCH_EXIT_AFTER_MS),
  );
}
