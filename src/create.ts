/**
 * The factory behind every entry point's `createExporter`: fills in the storage (the memory
 * backend shared by this process unless one is given) and the runtime.
 * @module
 */
import { Exporter, type ExporterOptions } from "./core/exporter.ts";
import type { Runtime } from "./core/runtime.ts";
import type { Storage } from "./core/storage.ts";
import type { UpstashStorageOptions } from "./storage/upstash.ts";
import { sharedMemoryStorage } from "./storage/memory.ts";

/** Options of `createExporter`: configuration, and optionally the storage and runtime to use. */
export interface CreateExporterOptions extends ExporterOptions {
  /**
   * On Node, Bun and Deno: directory shared by this host's processes, selecting the filesystem
   * backend. Env `PROMETHEUS_MULTIPROC_DIR`. Ignored when `storage` is given.
   */
  readonly multiprocDir?: string;
  /**
   * On Node, Bun and Deno: Upstash settings, selecting the Upstash backend (as does
   * `REDIS_ENABLED=true`); unset fields come from `UPSTASH_REDIS_REST_URL`, `UPSTASH_REDIS_REST_TOKEN`,
   * `REDIS_KEY_PREFIX`, `REDIS_TTL_SECONDS`, `REDIS_TTL_DISABLED`. Ignored when `storage` is given.
   */
  readonly upstash?: UpstashStorageOptions;
  /** Storage backend. Default: the memory storage shared by this process or isolate. */
  readonly storage?: Storage;
  /** Runtime adapter. Default: the one of the entry point `createExporter` came from. */
  readonly runtime?: Runtime;
}

/**
 * Builds an exporter for `runtime` unless the options name another. `defaultStorage` lets host
 * adapters choose the filesystem backend from the environment; the memory backend is the fallback.
 */
export function createExporterFor(
  runtime: Runtime,
  options: CreateExporterOptions = {},
  defaultStorage?: (runtime: Runtime) => Storage | undefined,
): Exporter {
  const chosen = options.runtime ?? runtime;
  return new Exporter(options, {
    storage: options.storage ?? defaultStorage?.(chosen) ?? sharedMemoryStorage(),
    runtime: chosen,
  });
}
