/**
 * The Durable Object driver: selected by a `PROMETHEUS_METRICS_OBJECT` binding (a Durable Object
 * namespace of `MetricsDurableObject`), on Workers; `PROMETHEUS_METRICS_OBJECT_SHARDS` spreads the
 * isolates over that many objects.
 * @module
 */
import { parseInteger, readEnv } from "../../core/env.ts";
import { ConfigError } from "../../core/errors.ts";
import type { StorageDriver } from "../../core/storage.ts";
import { type DurableObjectNamespaceLike, DurableObjectStorage } from "./storage.ts";

/** The binding that selects the backend. */
export const DURABLE_OBJECT_BINDING = "PROMETHEUS_METRICS_OBJECT";

/** The Durable Object backend, chosen by its binding. */
export const durableObjectDriver: StorageDriver<unknown> = {
  kind: "durable-object",
  needs: { fileSystem: false, tcp: false },
  offers: { sharedBy: "hosts" },
  selectedBy(_env, _options, place) {
    return place?.binding?.(DURABLE_OBJECT_BINDING) === undefined ? undefined : DURABLE_OBJECT_BINDING;
  },
  fromEnv(env, _options, place) {
    const namespace = place?.binding?.(DURABLE_OBJECT_BINDING) as DurableObjectNamespaceLike | undefined;
    if (typeof namespace?.idFromName !== "function" || typeof namespace.get !== "function") {
      throw new ConfigError(
        DURABLE_OBJECT_BINDING,
        "is bound, but not to a Durable Object namespace: bind it in wrangler.toml's [[durable_objects.bindings]] " +
          'with class_name = "MetricsDurableObject", exported from your Worker',
      );
    }
    const shards = readEnv(env, "PROMETHEUS_METRICS_OBJECT_SHARDS", (name, raw) => parseInteger(name, raw, 1, 1024));
    return new DurableObjectStorage({ namespace, shards, deadAfterMs: place?.deadAfterMs });
  },
};
