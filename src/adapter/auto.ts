/**
 * Picks the adapter of the runtime this code runs on (Deno, Bun, else Node), loading only that
 * one. For code that must run unchanged on all three, like the examples.
 *
 * @example
 * ```ts
 * import { createExporter } from "hono-prometheus-exporter/auto";
 * const exporter = await createExporter({ metricsPort: 0 });
 * await exporter.whenReady();
 * await exporter.onExit();
 * ```
 * @module
 */
import type { Exporter } from "../core/exporter/exporter.ts";
import type { FetchHandler, Runtime, ServeOptions, ServerHandle } from "../core/runtime.ts";
import type { CreateExporterOptions } from "../core/exporter/create.ts";

/** The name of the runtime this code runs on. */
export function runtimeName(): "deno" | "bun" | "node" {
  if ("Deno" in globalThis) return "deno";
  if ("Bun" in globalThis) return "bun";
  return "node";
}

interface AdapterModule {
  runtime(): Runtime;
  createExporter(options?: CreateExporterOptions): Exporter;
  serve(handler: FetchHandler, options: ServeOptions): Promise<ServerHandle>;
}

async function adapter(): Promise<AdapterModule> {
  switch (runtimeName()) {
    case "deno": {
      const m = await import("./deno/index.ts");
      return { runtime: m.denoRuntime, createExporter: m.createExporter, serve: m.serve };
    }
    case "bun": {
      const m = await import("./bun/index.ts");
      return { runtime: m.bunRuntime, createExporter: m.createExporter, serve: m.serve };
    }
    default: {
      const m = await import("./node/index.ts");
      return { runtime: m.nodeRuntime, createExporter: m.createExporter, serve: m.serve };
    }
  }
}

/** The adapter of the runtime this code runs on. */
export async function detectRuntime(): Promise<Runtime> {
  return (await adapter()).runtime();
}

/** Creates an exporter for the runtime this code runs on. */
export async function createExporter(options: CreateExporterOptions = {}): Promise<Exporter> {
  return (await adapter()).createExporter(options);
}

/** Serves `handler` with the runtime's own server. Rejects when it cannot bind. */
export async function serve(handler: FetchHandler, options: ServeOptions): Promise<ServerHandle> {
  return (await adapter()).serve(handler, options);
}
