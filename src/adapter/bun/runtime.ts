/**
 * The Bun runtime adapter: Bun implements `node:process` and `node:os`, so only the server (and
 * the HTTPS material it takes) differ from Node's.
 * @module
 */
import type { Runtime } from "../../core/runtime.ts";
import { nodeRuntime } from "../node/runtime.ts";
import { loadBunTls, serve } from "./server.ts";

/** The Bun runtime adapter. */
export function bunRuntime(): Runtime {
  return { ...nodeRuntime(), name: "bun", serve, loadTls: loadBunTls };
}
