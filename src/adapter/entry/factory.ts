/**
 * The factory behind every entry point's `createExporter`: fills in the storage (chosen from the
 * environment by the entry, else the memory backend shared by this process) and the runtime, and
 * keeps one live exporter per registry, so that a second `createExporter` in one process or
 * isolate neither throws "already registered" nor publishes the same metrics twice.
 * @module
 */
import type { EnvSource } from "../../core/env.ts";
import { ConfigError } from "../../core/errors.ts";
import { type InternalOptions, ProcessExporter } from "../../core/exporter/exporter.ts";
import { register, type Registry } from "../../core/values/metrics.ts";
import type { Runtime } from "../../core/runtime.ts";
import type { Storage } from "../../core/storage.ts";
import { sharedMemoryStorage } from "../../storage/memory.ts";

interface Live {
  readonly exporter: ProcessExporter;
  readonly options: InternalOptions;
}

const live = new WeakMap<Registry, Live>();

/**
 * Builds an exporter for `runtime` unless the options name another. `fromEnv` lets an entry choose
 * the storage from the environment (read at once on hosts, at the first request on the edge); the
 * memory backend is the fallback. A registry that already has a live exporter in this process gets
 * that exporter back when the options are the same, and a ConfigError when they differ.
 */
export function createExporterFor(
  runtime: Runtime,
  options: InternalOptions = {},
  fromEnv?: (env: EnvSource) => Storage | undefined,
): ProcessExporter {
  const chosen = options.runtime ?? runtime;
  const registry = (options.registry ?? register) as Registry;
  const existing = live.get(registry);
  if (existing !== undefined && !existing.exporter.exited) {
    const difference = differingOption(existing.options, options);
    if (difference === undefined && existing.exporter.runtime.name === chosen.name) return existing.exporter;
    throw new ConfigError(
      difference ?? "runtime",
      "this registry already has an exporter in this process, created with a different value; reuse that " +
        "exporter, or give this one a registry of its own (registry: new Registry())",
    );
  }
  const given = options.storage;
  const exporter = new ProcessExporter(options, {
    storage: given ?? ((env) => fromEnv?.(env) ?? sharedMemoryStorage()),
    runtime: chosen,
  });
  live.set(registry, { exporter, options });
  return exporter;
}

/** The first option whose value differs between `a` and `b`, or undefined when they agree. */
function differingOption(a: object, b: object): string | undefined {
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  for (const key of new Set([...Object.keys(left), ...Object.keys(right)])) {
    // `push` is built by the host entry from the options on each call: the options it comes from are compared.
    if (key !== "push" && !sameValue(left[key], right[key])) return key;
  }
  return undefined;
}

/** Equal primitives, the same object, or plain objects and arrays equal member by member. */
function sameValue(a: unknown, b: unknown, depth = 0): boolean {
  if (a === b) return true;
  const plain = (v: unknown): v is Record<string, unknown> =>
    v !== null && typeof v === "object" && (Array.isArray(v) || Object.getPrototypeOf(v) === Object.prototype);
  if (!plain(a) || !plain(b) || Array.isArray(a) !== Array.isArray(b) || depth > 8) return false;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const key of keys) if (!sameValue(a[key], b[key], depth + 1)) return false;
  return true;
}
