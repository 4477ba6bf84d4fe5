/** The cluster examples, started on free ports for tests and benchmarks. */
import process from "node:process";
import { commandFor, freePorts, RUNTIME } from "./runtime.ts";
import { type Running, start } from "./spawn.ts";

/** A running example: its process, and where the app and the aggregate are served. */
export interface RunningExample {
  readonly app: Running;
  readonly url: string;
  readonly metricsPort: number;
  readonly metricsUrl: string;
}

/**
 * Starts this runtime's `node:cluster` example (Node's, or Bun's) with `workers` workers publishing
 * to `dir`; resolves once every worker serves.
 */
export async function startClusterExample(
  dir: string,
  workers: number,
  env: Record<string, string> = {},
): Promise<RunningExample> {
  const [appPort, metricsPort] = await freePorts(2);
  const [command, args] = commandFor(`examples/cluster/${RUNTIME === "bun" ? "bun" : "node"}.ts`);
  const app = await start(command, args, {
    PORT: String(appPort),
    HOST: "127.0.0.1",
    WORKERS: String(workers),
    PROMETHEUS_METRICS_PORT: String(metricsPort),
    PROMETHEUS_BIND_ADDRESS: "127.0.0.1",
    PROMETHEUS_MULTIPROC_DIR: dir,
    ...env,
  }, new RegExp(`(worker_\\d \\(pid \\d+\\) serving[\\s\\S]*){${workers}}`));
  return running(app, appPort, metricsPort);
}

/** Starts `deno serve --parallel` on the Deno cluster example with `jobs` isolates publishing to `dir`. */
export async function startParallelExample(
  dir: string,
  jobs: number,
  env: Record<string, string> = {},
): Promise<RunningExample> {
  const [appPort, metricsPort] = await freePorts(2);
  const app = await start(process.execPath, [
    "serve",
    "--parallel",
    "-A",
    "--port",
    String(appPort),
    "--host",
    "127.0.0.1",
    "examples/cluster/deno.ts",
  ], {
    DENO_JOBS: String(jobs),
    PROMETHEUS_METRICS_PORT: String(metricsPort),
    PROMETHEUS_BIND_ADDRESS: "127.0.0.1",
    PROMETHEUS_MULTIPROC_DIR: dir,
    ...env,
  }, new RegExp(`(worker_\\d ready[\\s\\S]*){${jobs}}`));
  return running(app, appPort, metricsPort);
}

/** The pids of the processes the supervisor started for `slot` so far, oldest first. */
export function slotPids(app: Running, slot: string): number[] {
  return [...app.output().matchAll(new RegExp(`${slot} \\(pid (\\d+)\\)`, "g"))].map((m) => Number(m[1]));
}

function running(app: Running, appPort: number, metricsPort: number): RunningExample {
  return {
    app,
    url: `http://127.0.0.1:${appPort}`,
    metricsPort,
    metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
  };
}

/** Waits (with a deadline) until the supervisor has started a process for `slot` beyond the first `count`. */
export async function replaced(app: Running, slot: string, count: number, deadlineMs = 15_000): Promise<void> {
  for (const until = Date.now() + deadlineMs; slotPids(app, slot).length <= count && Date.now() < until;) {
    await new Promise((r) => setTimeout(r, 50));
  }
}
