/**
 * Options each entry cannot honour: a type error in TypeScript (each `@ts-expect-error` below
 * fails the type check when the option is accepted), and a ConfigError that names it and says
 * where it belongs for a JavaScript caller; a misspelt option gets the nearest name.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ConfigError, createExporter, Registry } from "../../mod.ts";
import { createExporter as createNodeExporter, serve as serveNode, supervise } from "../../src/adapter/node/index.ts";
import { createExporter as createWorkersExporter } from "../../src/adapter/workers/index.ts";
import { createParallelExporter } from "../../src/adapter/deno/index.ts";
import { RUNTIME } from "../support/runtime.ts";

const refused = (setting: string, message: RegExp) => (e: unknown) =>
  e instanceof ConfigError && e.setting === setting && message.test(e.message);

describe("options an entry cannot honour", () => {
  test("the root entry: a metrics port is a type error and a ConfigError pointing to the host entries", () => {
    assert.throws(
      // @ts-expect-error: the root entry runs no metrics server
      () => createExporter({ registry: new Registry(), metricsPort: 9091 }),
      refused("metricsPort", /needs a metrics server: import createExporter from hono-prometheus-exporter\/node/),
    );
    assert.throws(
      () => createExporter({ registry: new Registry(), metricsServer: true as false }),
      refused("metricsServer", /./),
    );
  });

  test("Workers: a publish interval is a type error and a ConfigError saying isolates publish after responses", () => {
    assert.throws(
      // @ts-expect-error: an isolate runs no timer between requests
      () => createWorkersExporter({ registry: new Registry(), publishIntervalMs: 100 }),
      refused("publishIntervalMs", /publishes after its responses/),
    );
  });

  test("a misspelt option: a ConfigError with the nearest name, on every entry", () => {
    // @ts-expect-error: misspelt
    assert.throws(() => createExporter({ namspace: "x" }), refused("namspace", /did you mean namespace\?/));
    assert.throws(
      // @ts-expect-error: misspelt
      () => createNodeExporter({ registry: new Registry(), metricPort: 0 }),
      refused("metricPort", /did you mean metricsPort\?/),
    );
    assert.throws(
      // @ts-expect-error: not an option at all
      () => createExporter({ colour: "blue" }),
      refused("colour", /is not an option of createExporter from hono-prometheus-exporter$/),
    );
  });

  test("the host entries take every group: metrics server, interval, storage choice", async () => {
    const exporter = createNodeExporter({ registry: new Registry(), metricsPort: 0, publishIntervalMs: 50 });
    assert.equal(exporter.exited, false);
    await exporter.onExit();
  });

  test("serve on Node: sharing a port (reusePort, Bun's) is a type error and a ConfigError that says what to use", async () => {
    await assert.rejects(
      // @ts-expect-error: node:http cannot share a port between processes
      serveNode(() => new Response("ok"), { port: 0, hostname: "127.0.0.1", reusePort: true }),
      refused("reusePort", /run the workers under supervise/),
    );
  });

  test("supervise: what the supervisor sets itself is a type error and a ConfigError", async () => {
    await assert.rejects(
      // @ts-expect-error: each worker's worker_id is its slot
      supervise(() => ({ port: 0, close: () => Promise.resolve() }), { workerId: "mine" }),
      refused("workerId", /names each worker's worker_id after its slot/),
    );
  });

  test("createParallelExporter: handleSignals is a type error and a ConfigError", {
    skip: RUNTIME === "deno" ? false : "createParallelExporter runs on Deno only",
  }, () => {
    assert.throws(
      // @ts-expect-error: the isolates handle the signals together
      () => createParallelExporter({ registry: new Registry(), handleSignals: false }),
      refused("handleSignals", /handle SIGINT and SIGTERM together/),
    );
  });
});
