/**
 * How the Durable Object backend is chosen on Workers: by its binding alone; with Upstash bindings
 * too, a ConfigError that names both; a binding that is no Durable Object namespace, a ConfigError
 * that says how to bind it. (The namespaces here are objects with the namespace's two methods: no
 * request is made. The backend itself runs in workerd in `durable_object.test.ts`.)
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError } from "../../src/core/errors.ts";
import { envFromObject } from "../../src/core/env.ts";
import type { StoragePlace } from "../../src/core/storage.ts";
import { chooseStorage } from "../../src/storage/drivers.ts";

const namespace = {
  idFromName: (name: string) => name,
  get: () => ({ fetch: () => Promise.reject(new Error("unused")) }),
};
const place = (bindings: Record<string, unknown>): StoragePlace => ({
  name: "Workers",
  fileSystem: false,
  tcp: false,
  instead: "",
  binding: (name) => bindings[name],
  deadAfterMs: 120_000,
});
const upstash = { UPSTASH_REDIS_REST_URL: "https://example.upstash.io", UPSTASH_REDIS_REST_TOKEN: "t" };

test("a PROMETHEUS_METRICS_OBJECT binding chooses the Durable Object backend, with no option", () => {
  const storage = chooseStorage(envFromObject({}), {}, place({ PROMETHEUS_METRICS_OBJECT: namespace }));
  assert.equal(storage?.kind, "durable-object");
  assert.equal(storage?.address, "durable object hono-prometheus");
  const sharded = chooseStorage(
    envFromObject({ PROMETHEUS_METRICS_OBJECT_SHARDS: "4" }),
    {},
    place({ PROMETHEUS_METRICS_OBJECT: namespace }),
  );
  assert.equal(sharded?.address, "durable object hono-prometheus (4 shards)");
});

test("the object and Upstash bound at once: a ConfigError that names both", () => {
  assert.throws(
    () => chooseStorage(envFromObject(upstash), {}, place({ PROMETHEUS_METRICS_OBJECT: namespace })),
    (e: unknown) =>
      e instanceof ConfigError && /PROMETHEUS_METRICS_OBJECT/.test(e.message) &&
      /UPSTASH_REDIS_REST_URL/.test(e.message),
  );
});

test("a binding that is no Durable Object namespace, or a bad shard count: ConfigErrors that say what to fix", () => {
  assert.throws(
    () => chooseStorage(envFromObject({}), {}, place({ PROMETHEUS_METRICS_OBJECT: "a string" })),
    (e: unknown) =>
      e instanceof ConfigError && /durable_objects\.bindings/.test(e.message) && /MetricsDurableObject/.test(e.message),
  );
  assert.throws(
    () =>
      chooseStorage(
        envFromObject({ PROMETHEUS_METRICS_OBJECT_SHARDS: "0" }),
        {},
        place({ PROMETHEUS_METRICS_OBJECT: namespace }),
      ),
    (e: unknown) => e instanceof ConfigError && e.setting === "PROMETHEUS_METRICS_OBJECT_SHARDS",
  );
});

test("without the binding, the host rule is unchanged: nothing chosen", () => {
  assert.equal(chooseStorage(envFromObject({}), {}, place({})), undefined);
});
