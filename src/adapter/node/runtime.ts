/**
 * The Node.js runtime: `process.env`, the process's own memory and CPU, `node:http` for the
 * metrics server, and SIGINT/SIGTERM through `process.on`.
 * @module
 */
import { hostname } from "node:os";
import process from "node:process";
import type { ProcessProbe, Runtime } from "../../core/runtime.ts";
import { serve } from "./server.ts";

/** Reads this process's memory, CPU and uptime through `node:process` (Node, and Bun). */
export const processProbe: ProcessProbe = {
  sample() {
    const cpu = process.cpuUsage();
    return { rssBytes: process.memoryUsage.rss(), cpuMicros: cpu.user + cpu.system, uptimeSeconds: process.uptime() };
  },
};

/** Calls `listener` on SIGINT and SIGTERM through `process.on`; returns the remover. */
export function onProcessSignal(listener: (signal: string) => void): () => void {
  const signals = ["SIGINT", "SIGTERM"] as const;
  for (const s of signals) process.on(s, listener);
  return () => {
    for (const s of signals) process.off(s, listener);
  };
}

/**
 * The Node.js runtime adapter.
 *
 * @example
 * ```ts
 * import { nodeRuntime } from "hono-prometheus-exporter/node";
 * console.log(nodeRuntime().name); // "node"
 * ```
 */
export function nodeRuntime(): Runtime {
  return {
    name: "node",
    env: (name) => process.env[name],
    facts: { hostname: hostname(), pid: process.pid },
    probe: processProbe,
    serve,
    onShutdownSignal: onProcessSignal,
    exit: (code) => process.exit(code),
  };
}
