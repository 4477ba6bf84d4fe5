/**
 * The supervisor, gunicorn's arbiter for `node:cluster`: the primary forks `WORKERS` workers, each
 * with a slot (`worker_1`...) used as `worker_id`, replaces a worker that dies (counting
 * `<ns>_master_worker_restarts_total{reason}`), handles HUP (graceful reload), TTIN (one more
 * worker), TTOU (one fewer), INT and TERM (graceful stop), counting each in
 * `<ns>_master_signals_total{signal}`, and serves the aggregate on the metrics server. Every
 * process publishes to the storage the environment selects (Upstash when enabled), else to the
 * filesystem backend in `PROMETHEUS_MULTIPROC_DIR` (a temporary directory when unset).
 * @module
 */
import cluster, { type Worker } from "node:cluster";
import { mkdtempSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { parseInteger, readEnv } from "../../core/env.ts";
import type { Exporter, ServerHandle } from "../../core/api/types.ts";
import type { InternalOptions, ProcessExporter } from "../../core/exporter/exporter.ts";
import { flushPeers } from "../../core/exporter/peer_flush.ts";
import { shutDown, shuttingDown } from "../../core/exporter/shutdown.ts";
import { HOST_PLACE, selectDriver, type StorageChoice } from "../../storage/drivers.ts";
import { Counter } from "../../core/values/metrics.ts";
import { checkOptions, without } from "../../core/config/options.ts";
import { HOST_ENTRY_OPTIONS, hostEnv, type HostExporterOptions } from "../entry/host_exporter.ts";

/**
 * Options of {@link supervise}: those of the host entries but `workerId` (each worker's is its
 * slot) and `handleSignals` (the supervisor handles them), and the supervisor's own.
 */
export interface SuperviseOptions extends Omit<HostExporterOptions, "workerId" | "handleSignals"> {
  /** Number of workers. Env `WORKERS`; default the number of CPUs. */
  readonly workers?: number;
  /** How long a worker may take to stop gracefully before it is killed, in ms. Default 30000. */
  readonly gracefulTimeoutMs?: number;
  /** How long a scrape waits, overall, for the ready workers to publish first, in ms. Default 250. */
  readonly flushDeadlineMs?: number;
}

const SUPERVISE_OPTIONS = [
  ...HOST_ENTRY_OPTIONS.map((group) => without(group, "workerId", "handleSignals")),
  { workers: true, gracefulTimeoutMs: true, flushDeadlineMs: true },
] as const;
const SET_BY_THE_SUPERVISOR = {
  workerId: "the supervisor names each worker's worker_id after its slot (worker_1, worker_2...)",
  handleSignals: "the supervisor handles SIGHUP, SIGTTIN, SIGTTOU, SIGINT and SIGTERM itself",
};

/** The exporter factory of an entry: the supervisor hands it each process's settings. */
type CreateExporter = (options: InternalOptions & StorageChoice) => ProcessExporter;

/** Starts the app in a worker, with the worker's exporter; returns the app's server. */
export type WorkerMain = (exporter: Exporter, slot: string) => Promise<ServerHandle> | ServerHandle;

const SLOT_ENV = "HONO_PROMETHEUS_WORKER_SLOT";
const SIGNALS = ["SIGHUP", "SIGTTIN", "SIGTTOU", "SIGINT", "SIGTERM"] as const;

/**
 * Runs `main` in supervised workers, with a given adapter's `createExporter` (the Node and Bun
 * entries' `supervise` pass their own). In the primary it forks and supervises; in a worker it
 * runs `main`.
 */
export async function superviseWith(
  createExporter: CreateExporter,
  main: WorkerMain,
  options: SuperviseOptions = {},
): Promise<void> {
  checkOptions(options, "supervise", SUPERVISE_OPTIONS, SET_BY_THE_SUPERVISOR);
  if (cluster.isPrimary) await runPrimary(createExporter, options);
  else await runWorker(createExporter, main, options);
}

async function runWorker(
  createExporter: CreateExporter,
  main: WorkerMain,
  options: SuperviseOptions,
): Promise<void> {
  const slot = process.env[SLOT_ENV] ?? `worker_${cluster.worker?.id ?? 0}`;
  const exporter = createExporter({ ...options, workerId: slot, metricsServer: false, handleSignals: false });
  await exporter.postFork(slot);
  await exporter.onStarting();
  const server = await main(exporter, slot);
  await exporter.whenReady();
  process.send?.("hono-prometheus:ready");
  // Requests in flight finish, and are recorded, before the last publish.
  const stop = (signal: string) => shutDown(exporter, signal, { drain: () => server.close(), exit: process.exit });
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGQUIT", async () => {
    await exporter.workerInt("SIGQUIT"); // state aborting, values published
    process.exit(1);
  });
  process.on("message", (message) => {
    if (message === "hono-prometheus:stop") void stop("SIGTERM");
    if (message === "hono-prometheus:flush") {
      exporter.flush().catch(() => {}).finally(() => process.send?.("hono-prometheus:flushed"));
    }
  });
}

async function runPrimary(
  createExporter: CreateExporter,
  options: SuperviseOptions,
): Promise<void> {
  const env = hostEnv((name) => process.env[name], options); // the configuration file too
  // With no backend chosen, the processes share a directory of their own (handed to each worker).
  const multiprocDir = selectDriver(env, options, HOST_PLACE) === undefined
    ? mkdtempSync(join(tmpdir(), "hono-prometheus-"))
    : undefined;
  const bySlot = new Map<string, Worker>();
  const ready = new Set<Worker>();
  const flushDeadlineMs = options.flushDeadlineMs ?? 250;
  const flushWorkers = () =>
    flushPeers(
      [...ready].filter((w) => !w.isDead() && w.isConnected()),
      (worker, done) =>
        new Promise<void>((resolve) => {
          const flushed = (message: unknown) => message === "hono-prometheus:flushed" && resolve();
          worker.on("message", flushed);
          // A worker killed just before the scrape: its channel closes before its exit is seen.
          worker.once("disconnect", resolve);
          done.addEventListener("abort", () => {
            worker.off("message", flushed);
            worker.off("disconnect", resolve);
          });
          try {
            worker.send("hono-prometheus:flush", (error: Error | null) => error && resolve());
          } catch {
            resolve();
          }
        }),
      flushDeadlineMs,
    );
  const exporter = createExporter({
    ...options,
    multiprocDir,
    workerId: "master",
    handleSignals: false,
    beforeCollect: flushWorkers,
  });
  const ns = exporter.config.namespace;
  const restarts = new Counter({
    name: `${ns}_master_worker_restarts_total`,
    help: "Workers the supervisor replaced after they died, by reason.",
    labelNames: ["reason"],
    registers: [exporter.registry],
  });
  const signals = new Counter({
    name: `${ns}_master_signals_total`,
    help: "Signals the supervisor handled.",
    labelNames: ["signal"],
    registers: [exporter.registry],
  });
  const graceMs = options.gracefulTimeoutMs ?? 30_000;
  let target = options.workers ??
    readEnv(env, "WORKERS", (name, raw) => parseInteger(name, raw, 1, 1024)) ??
    availableParallelism();
  const retiring = new Set<Worker>();

  const fork = (slot: string): Worker => {
    const worker = cluster.fork({
      [SLOT_ENV]: slot,
      ...(multiprocDir ? { PROMETHEUS_MULTIPROC_DIR: multiprocDir } : {}),
    });
    bySlot.set(slot, worker);
    worker.on("message", (message) => message === "hono-prometheus:ready" && ready.add(worker));
    worker.once("exit", () => ready.delete(worker));
    return worker;
  };
  const stopWorker = (worker: Worker): Promise<void> =>
    new Promise((resolve) => {
      retiring.add(worker);
      if (worker.isDead()) return resolve();
      // Past the grace period: SIGQUIT (the worker marks itself aborting and publishes), then SIGKILL.
      const kill = setTimeout(() => {
        worker.process.kill("SIGQUIT");
        setTimeout(() => worker.process.kill("SIGKILL"), 2000).unref();
      }, graceMs);
      worker.once("exit", () => {
        clearTimeout(kill);
        resolve();
      });
      worker.send("hono-prometheus:stop");
    });

  cluster.on("exit", (worker, code, signal) => {
    if (retiring.delete(worker) || shuttingDown(exporter)) return;
    const slot = [...bySlot].find(([, w]) => w === worker)?.[0];
    if (slot === undefined) return;
    restarts.inc({ reason: signal ? signal : `exit_${code}` });
    fork(slot);
  });

  await exporter.onStarting();
  for (let i = 1; i <= target; i++) fork(`worker_${i}`);

  const onSignal = async (signal: (typeof SIGNALS)[number]) => {
    signals.inc({ signal: signal.slice(3) });
    if (signal === "SIGTTIN") {
      target++;
      fork(`worker_${target}`);
    } else if (signal === "SIGTTOU") {
      if (target <= 1) return;
      const slot = `worker_${target}`;
      target--;
      const worker = bySlot.get(slot);
      bySlot.delete(slot);
      if (worker) await stopWorker(worker);
    } else if (signal === "SIGHUP") {
      for (const [slot, old] of [...bySlot]) {
        const fresh = fork(slot);
        // The old worker stops once the new one serves (or could not start within the grace period).
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, graceMs);
          fresh.on("message", (message) => message === "hono-prometheus:ready" && (clearTimeout(timer), resolve()));
          fresh.once("exit", () => (clearTimeout(timer), resolve()));
        });
        await stopWorker(old);
      }
    } else {
      await shutDown(exporter, signal, {
        drain: async () => void await Promise.all([...bySlot.values()].map(stopWorker)),
        exit: process.exit,
      });
    }
  };
  for (const signal of SIGNALS) process.on(signal, () => void onSignal(signal));
  await exporter.whenReady();
}
