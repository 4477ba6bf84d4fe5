/**
 * The Node.js runtime: `process.env`, the process's own memory and CPU, `node:http` for the
 * metrics server, and SIGINT/SIGTERM through `process.on`.
 * @module
 */
import { hostname } from "node:os";
import process from "node:process";
import type { ProcessProbe, Runtime } from "../../core/runtime.ts";
import { serve } from "./server.ts";
import { loadTls } from "../entry/tls.ts";
import { otherPromClient } from "../entry/prom_client_copy.ts";

/** Reads this process's memory, CPU and uptime through `node:process` (Node, and Bun). */
export const processProbe: ProcessProbe = {
  sample() {
    const cpu = process.cpuUsage();
    return { rssBytes: process.memoryUsage.rss(), cpuMicros: cpu.user + cpu.system, uptimeSeconds: process.uptime() };
  },
};

/** Calls `listener` on SIGINT and SIGTERM through `process.on`; returns the remover. */
export function onProcessSignal(listener: (signal: string, appListens: boolean | undefined) => void): () => void {
  const signals = ["SIGINT", "SIGTERM"] as const;
  const handlers = signals.map((signal) => {
    // Any other listener is the app's own shutdown, which decides when the process ends.
    const handler = () => listener(signal, process.listenerCount(signal) > 1);
    process.on(signal, handler);
    return [signal, handler] as const;
  });
  return () => {
    for (const [signal, handler] of handlers) process.off(signal, handler);
  };
}

/** The Node.js runtime adapter. */
export function nodeRuntime(): Runtime {
  return {
    name: "node",
    env: (name) => process.env[name],
    facts: { hostname: hostname(), pid: process.pid },
    probe: processProbe,
    serve,
    onShutdownSignal: onProcessSignal,
    exit: (code) => process.exit(code),
    loadTls,
    otherPromClient,
  };
}
