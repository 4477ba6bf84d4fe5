/**
 * The adapter of the host runtime this code runs on (Deno, Bun, else Node): for `/auto` and the
 * sidecar command. Each adapter reaches its runtime through globals, so importing all three is
 * safe on any of them.
 * @module
 */
import type { Runtime } from "../core/runtime.ts";
import { bunRuntime } from "./bun/runtime.ts";
import { denoRuntime } from "./deno/runtime.ts";
import { nodeRuntime } from "./node/runtime.ts";

/** The name of the host runtime this code runs on. */
export function runtimeName(): "deno" | "bun" | "node" {
  if ("Deno" in globalThis) return "deno";
  if ("Bun" in globalThis) return "bun";
  return "node";
}

/** The adapter of the host runtime this code runs on. */
export function hostRuntime(): Runtime {
  const name = runtimeName();
  return name === "deno" ? denoRuntime() : name === "bun" ? bunRuntime() : nodeRuntime();
}
