/**
 * What the host adapters (Node, Bun, Deno) share: an exporter whose storage, when none is given,
 * comes from the environment (Upstash, else the filesystem, else memory; see `storage/host.ts`).
 * @module
 */
import type { Exporter } from "../core/exporter.ts";
import type { Runtime } from "../core/runtime.ts";
import { createExporterFor, type CreateExporterOptions } from "../create.ts";
import { hostStorage } from "../storage/host.ts";

/** Creates an exporter for a host runtime. */
export function createHostExporter(runtime: Runtime, options: CreateExporterOptions): Exporter {
  return createExporterFor(runtime, options, (env) => hostStorage(env, options));
}
