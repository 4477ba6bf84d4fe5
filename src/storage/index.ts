/**
 * `hono-prometheus-exporter/storage`: the storage-plugin contract, for a backend of your own: the
 * `Storage` interface every backend implements (one round trip per publish, a constant number per
 * read, retirement by compare-and-set, the answers after a loss), the types of its calls, and the
 * driver shape the one selection rule reads. The shared suite in the repository's
 * `tests/storage/conformance.ts` is what a backend must pass.
 *
 * @example
 * ```ts
 * import type { Storage } from "hono-prometheus-exporter/storage";
 * import { MemoryStorage } from "hono-prometheus-exporter/memory";
 *
 * const inner = new MemoryStorage();
 * const counted: Storage & { publishes: number } = {
 *   kind: "counted",
 *   publishes: 0,
 *   publish(update) {
 *     counted.publishes++;
 *     return inner.publish(update);
 *   },
 *   read: () => inner.read(),
 *   retire: (retirement) => inner.retire(retirement),
 *   close: () => inner.close(),
 * };
 * ```
 * @module
 */
export type {
  Expectation,
  MetricDescriptor,
  MetricType,
  MultiprocessMode,
  ProcessRecord,
  ProcessUpdate,
  PublishOutcome,
  Restoration,
  Restored,
  RetiredTotal,
  Retirement,
  SeriesMap,
  Storage,
  StorageDriver,
  StoragePlace,
  StoredState,
} from "../core/storage.ts";
export type { EnvSource } from "../core/env.ts";
