/**
 * The supervisor, gunicorn's arbiter for `node:cluster`: the primary forks `WORKERS` workers, each
 * with a slot (`worker_1`...) used as `worker_id`, replaces a worker that dies (counting
 * `<ns>_master_worker_restarts_total{reason}`), handles HUP (graceful reload), TTIN (one more
 * worker), TTOU (one fewer), INT and TERM (graceful stop), counting each in
 * `<ns>_master_signals_total{signal}`, and serves the aggregate on the metrics server. Every
 * process publishes to the storage the options and environment choose (the one rule of
 * `storage/drivers.ts`), else to a directory of the supervisor's own, handed to each worker.
 * @module
 */
import cluster, { type Worker } from "node:cluster";
import { mkdtempSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { parseInteger, readEnv } from "../../core/env.ts";
import type { Exporter } from "../../core/api/types.ts";
import type { InternalOptions, ProcessExporter } from "../../core/exporter/exporter.ts";
import { flushPeers } from "../../core/exporter/peer_flush.ts";
import { shutDown, shuttingDown } from "../../core/exporter/shutdown.ts";
import { refuseTwoBackends, selectDriver, type StorageChoice } from "../../storage/drivers.ts";
import { HOST_PLACE } from "../../storage/host_place.ts";
import { Counter } from "../../core/values/metrics.ts";
import { checkOptions, without } from "../../core/config/options.ts";
import { ms } from "../../core/config/config.ts";
import { HOST_ENTRY_OPTIONS, hostEnv, type HostExporterOptions } from "../entry/host_exporter.ts";
import { type AppServer, drain } from "./app_server.ts";

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

/**
 * Starts the app in a worker, with the worker's exporter; returns the app's server (or a promise
 * of it), which the worker drains on SIGTERM before its last publish: what `node:http`'s
 * `createServer`, `@hono/node-server`'s `serve`, `Bun.serve` or this package's `serve` gives.
 */
export type WorkerMain = (exporter: Exporter, slot: string) => AppServer | Promise<AppServer>;

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
  refuseTwoBackends(options);
  if (cluster.isPrimary) await runPrimary(createExporter, options);
  else await runWorker(createExporter, main, options);
}

async function runWorker(
  createExporter: CreateExporter,
  main: WorkerMain,
  options: SuperviseOptions,
): Promise<void> {
  const slot = process.env[SLOT_ENV] ?? `worker_${cluster.worker?.id ?? 0}`;
  // The primary serves the aggregate, and pushes it where remote write is set.
  const exporter = createExporter({
    ...options,
    workerId: slot,
    metricsServer: false,
    handleSignals: false,
    remoteWrite: false,
  });
  await exporter.postFork(slot);
  await exporter.onStarting();
  const server = await main(exporter, slot);
  await exporter.whenReady();
  process.send?.("hono-prometheus:ready");
  // Requests in flight finish, and are recorded, before the last publish.
  const stop = (signal: string) => shutDown(exporter, signal, { drain: () => drain(server), exit: process.exit });
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

async function runPrimary(createExporter: CreateExporter, options: SuperviseOptions): Promise<void> {
  const env = hostEnv((name) => process.env[name], options); // the configuration file too
  // With no backend chosen, the processes share a directory of their own (handed to each worker).
  const multiprocDir = selectDriver(env, options, HOST_PLACE) === undefined
    ? mkdtempSync(join(tmpdir(), "hono-prometheus-"))
    : undefined;
  const primary = new Primary(options, multiprocDir);
  const exporter = createExporter({
    ...options,
    multiprocDir,
    workerId: "master",
    handleSignals: false,
    beforeCollect: () => primary.flushWorkers(),
  });
  const workers = (name: string, raw: string) => parseInteger(name, raw, 1, 1024);
  const target = options.workers === undefined
    ? readEnv(env, "WORKERS", workers) ?? availableParallelism()
    : workers("workers", String(options.workers));
  await primary.start(exporter, target);
}

/** The primary's state: the workers by slot, which are ready, which are being stopped. */
class Primary {
  readonly #bySlot = new Map<string, Worker>();
  readonly #ready = new Set<Worker>();
  readonly #retiring = new Set<Worker>();
  readonly #graceMs: number;
  readonly #flushDeadlineMs: number;
  #target = 0;
  #exporter: ProcessExporter | undefined;
  #restarts: Counter<"reason"> | undefined;
  #signals: Counter<"signal"> | undefined;

  constructor(options: SuperviseOptions, readonly multiprocDir: string | undefined) {
    this.#graceMs = ms("gracefulTimeoutMs", options.gracefulTimeoutMs, 30_000, 0, 3_600_000);
    this.#flushDeadlineMs = ms("flushDeadlineMs", options.flushDeadlineMs, 250, 0, 60_000);
  }

  /** Declares the supervisor's counters, forks `target` workers, handles exits and signals, then `whenReady`. */
  async start(exporter: ProcessExporter, target: number): Promise<void> {
    this.#exporter = exporter;
    const ns = exporter.config.namespace;
    this.#restarts = new Counter({
      name: `${ns}_master_worker_restarts_total`,
      help: "Workers the supervisor replaced after they died, by reason.",
      labelNames: ["reason"],
      registers: [exporter.registry],
    });
    this.#signals = new Counter({
      name: `${ns}_master_signals_total`,
      help: "Signals the supervisor handled.",
      labelNames: ["signal"],
      registers: [exporter.registry],
    });
    cluster.on("exit", (worker, code, signal) => this.#exited(worker, code, signal));
    await exporter.onStarting();
    this.#target = target;
    for (let i = 1; i <= target; i++) this.#fork(`worker_${i}`);
    for (const signal of SIGNALS) process.on(signal, () => void this.#onSignal(signal));
    await exporter.whenReady();
  }

  /** Before a scrape: asks the ready workers to publish, and waits for them up to the deadline. */
  flushWorkers(): Promise<void> {
    return flushPeers(
      [...this.#ready].filter((w) => !w.isDead() && w.isConnected()),
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
      this.#flushDeadlineMs,
    );
  }

  #fork(slot: string): Worker {
    const dir = this.multiprocDir;
    const worker = cluster.fork({ [SLOT_ENV]: slot, ...(dir ? { PROMETHEUS_MULTIPROC_DIR: dir } : {}) });
    this.#bySlot.set(slot, worker);
    worker.on("message", (message) => message === "hono-prometheus:ready" && this.#ready.add(worker));
    worker.once("exit", () => this.#ready.delete(worker));
    return worker;
  }

  /** A worker that died unasked is replaced in its slot, and counted. */
  #exited(worker: Worker, code: number, signal: string): void {
    if (this.#retiring.delete(worker) || shuttingDown(this.#exporter!)) return;
    const slot = [...this.#bySlot].find(([, w]) => w === worker)?.[0];
    if (slot === undefined) return;
    this.#restarts!.inc({ reason: signal ? signal : `exit_${code}` });
    this.#fork(slot);
  }

  #stopWorker(worker: Worker): Promise<void> {
    return new Promise((resolve) => {
      this.#retiring.add(worker);
      if (worker.isDead()) return resolve();
      // Past the grace period: SIGQUIT (the worker marks itself aborting and publishes), then SIGKILL.
      const kill = setTimeout(() => {
        worker.process.kill("SIGQUIT");
        setTimeout(() => worker.process.kill("SIGKILL"), 2000).unref();
      }, this.#graceMs);
      worker.once("exit", () => {
        clearTimeout(kill);
        resolve();
      });
      worker.send("hono-prometheus:stop");
    });
  }

  async #onSignal(signal: (typeof SIGNALS)[number]): Promise<void> {
    this.#signals!.inc({ signal: signal.slice(3) });
    if (signal === "SIGTTIN") {
      this.#fork(`worker_${++this.#target}`);
    } else if (signal === "SIGTTOU") {
      if (this.#target <= 1) return;
      const slot = `worker_${this.#target--}`;
      const worker = this.#bySlot.get(slot);
      this.#bySlot.delete(slot);
      if (worker) await this.#stopWorker(worker);
    } else if (signal === "SIGHUP") {
      await this.#reload();
    } else {
      await shutDown(this.#exporter!, signal, {
        drain: async () => void await Promise.all([...this.#bySlot.values()].map((w) => this.#stopWorker(w))),
        exit: process.exit,
      });
    }
  }

  /** SIGHUP: each slot gets a new worker; the old one stops once the new one serves (or the grace period ends). */
  async #reload(): Promise<void> {
    for (const [slot, old] of [...this.#bySlot]) {
      const fresh = this.#fork(slot);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.#graceMs);
        fresh.on("message", (message) => message === "hono-prometheus:ready" && (clearTimeout(timer), resolve()));
        fresh.once("exit", () => (clearTimeout(timer), resolve()));
      });
      await this.#stopWorker(old);
    }
  }
}
