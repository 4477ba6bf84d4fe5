/**
 * Wiring: what an exporter builds from its configuration (on hosts when it is created, on the
 * edge at the first request): the validated configuration, the storage, the process identity,
 * the publisher and collector, the exporter's own and the worker metrics, the flush window and
 * the scrape (with the lock on /metrics).
 * @module
 */
import { MetricsGuard } from "../serve/auth.ts";
import { Collector } from "../collect/collector.ts";
import { isNativeHistogram, resolveConfig, type ResolvedConfig } from "../config/config.ts";
import { metricsLock } from "../config/metrics_lock.ts";
import { ConfigError } from "../errors.ts";
import type { ProcessOptions } from "../api/types.ts";
import type { BackoffPolicy } from "../publish/backoff.ts";
import type { EnvSource } from "../env.ts";
import { FlushWindow } from "../publish/flush_window.ts";
import { ProcessIdentity } from "../publish/identity.ts";
import type { Logger } from "../log.ts";
import type { Registry } from "../values/metrics.ts";
import { Publisher } from "../publish/publisher.ts";
import type { Runtime, TlsMaterial } from "../runtime.ts";
import { SelfMetrics } from "./self_metrics.ts";
import { Scrape } from "./scrape.ts";
import { Continuity } from "../collect/continuity.ts";
import { RestorePoint } from "../collect/restore_point.ts";
import type { Storage } from "../storage.ts";
import { WorkerMetrics } from "./worker_metrics.ts";
import { recordNativeHistograms } from "../values/native_histograms.ts";

/**
 * The options the factory and the adapters give an exporter: the public options, plus parts that
 * only the library and its tests set.
 */
export interface InternalOptions extends ProcessOptions {
  /** Current time in ms since the epoch. Default `Date.now`; tests pass their own. */
  readonly clock?: () => number;
  /** Retry schedule of failed publishes. Default 250 ms doubling to 30 s, with jitter. */
  readonly backoff?: Partial<BackoffPolicy>;
  /** Runs before each collection: a supervisor asking its workers to publish (see `peer_flush.ts`). */
  readonly beforeCollect?: () => Promise<void>;
  /** Runtime adapter. Default: the one of the entry point `createExporter` came from. */
  readonly runtime?: Runtime;
  /**
   * Starts pushing the aggregate at `whenReady` (remote write, set up by the host entries so that
   * a Worker's bundle holds none of it); what it returns is stopped, after a last push, at `onExit`.
   */
  readonly push?: (exporter: PushSource) => { stop(): Promise<void> };
}

/** What a pusher reads of the exporter. */
export interface PushSource {
  collect(): Promise<string>;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly config: { readonly namespace: string; readonly metricsServer: boolean };
  readonly metricsServer: unknown;
}

/** The parts an adapter or factory supplies. */
export interface ExporterParts {
  /**
   * Where values are published, or how to choose it from the environment once that can be read
   * (on the edge, at the first request, from its bindings).
   */
  readonly storage: Storage | ((env: EnvSource) => Storage);
  /** The runtime adapter. */
  readonly runtime: Runtime;
}

/** What an exporter builds from its configuration: on hosts at once, on the edge at the first request. */
export interface Core {
  readonly config: ResolvedConfig;
  readonly storage: Storage;
  readonly identity: ProcessIdentity;
  readonly publisher: Publisher;
  readonly collector: Collector;
  readonly workerMetrics: WorkerMetrics;
  readonly selfMetrics: SelfMetrics;
  /** HTTPS material of the metrics server, when configured (read and checked at start). */
  readonly tls: TlsMaterial | undefined;
  readonly flushWindow: FlushWindow;
  /** Serves scrapes: the lock, the deadline, the publish and read, the merge and its checks. */
  readonly scrape: Scrape;
}

/**
 * Builds an exporter's parts from its options; a bad setting throws a ConfigError. `beforeEach`
 * runs at the start of each collection.
 */
export function wire(
  options: InternalOptions,
  parts: ExporterParts,
  registry: Registry,
  logger: Logger,
  beforeEach: () => void,
): Core {
  const { runtime } = parts;
  const storage = typeof parts.storage === "function" ? parts.storage(runtime.env) : parts.storage;
  const localStorage = storage.kind === "filesystem" || storage.kind === "memory";
  const config = resolveConfig(options, runtime.env, { edge: runtime.edge, localStorage });
  const guard = new MetricsGuard(metricsLock(options, runtime.env, config.publicMetrics));
  const tls = checkedTls(runtime, config);
  checkLifetime(storage, config);
  if (config.nativeHistograms !== false) recordNativeHistograms(registry, (name) => isNativeHistogram(config, name));
  const identity = new ProcessIdentity(runtime.facts);
  const clock = options.clock ?? Date.now;
  const ns = config.namespace;
  const selfMetrics = new SelfMetrics(registry, ns, storage.kind);
  const workerId = config.workerId ?? defaultWorkerId(runtime, identity);
  const workerMetrics = new WorkerMetrics(registry, ns, workerId, runtime.probe);
  const restorePoint = new RestorePoint();
  const publisher = new Publisher({
    registry,
    storage,
    identity,
    clock,
    seriesLimit: config.seriesLimit,
    gaugeModes: config.gaugeModes,
    backoff: { initialDelayMs: 250, maxDelayMs: 30_000, jitter: true, ...options.backoff },
    logger,
    unrefTimer: runtime.unrefTimer,
    events: selfMetrics.publisherEvents(),
    restorePoint,
  });
  const collector = new Collector({
    storage,
    clock,
    staleAfterMs: config.staleAfterMs,
    deadAfterMs: config.deadAfterMs,
    processLabel: "process_id",
    events: selfMetrics.collectorEvents(),
    restorePoint,
  });
  // Every process publishes within one interval of a loss (on the edge, within a flush window of
  // its next request): twice that, and the publish itself, before a decrease is taken as final.
  const continuity = new Continuity(2 * config.publishIntervalMs + config.flushWindowMs, clock, {
    kind: storage.kind,
    logger,
    reset: (series) => selfMetrics.resetSeries.inc({ backend: storage.kind }, series),
  });
  const scrape = new Scrape({
    storage,
    publisher,
    collector,
    continuity,
    guard,
    selfMetrics,
    logger,
    namespace: ns,
    minScrapeIntervalMs: config.minScrapeIntervalMs,
    publishOnScrape: options.publishOnScrape !== false,
    beforeCollect: options.beforeCollect,
    beforeEach,
  });
  const flushWindow = new FlushWindow(() => publisher.publish(), config.flushWindowMs);
  return { config, storage, identity, publisher, collector, workerMetrics, selfMetrics, tls, flushWindow, scrape };
}

/** The metrics server's HTTPS material, read and checked, when configured; a ConfigError where the runtime has none. */
function checkedTls(runtime: Runtime, config: ResolvedConfig): TlsMaterial | undefined {
  if (config.tls === undefined) return undefined;
  if (runtime.loadTls === undefined) {
    throw new ConfigError(
      "PROMETHEUS_SSL_CERTFILE",
      `the ${runtime.name} runtime runs no metrics server of its own (its platform terminates HTTPS); remove PROMETHEUS_SSL_*`,
    );
  }
  return runtime.loadTls(config.tls);
}

/** Refuses keys that expire before a dead process is retired: its counters would vanish. */
function checkLifetime(storage: Storage, config: ResolvedConfig): void {
  const expires = storage.expiresAfterMs;
  if (expires === undefined || expires > config.deadAfterMs) return;
  throw new ConfigError(
    "REDIS_TTL_SECONDS",
    `${expires / 1000} s is not longer than deadAfterMs (${
      config.deadAfterMs / 1000
    } s); raise the TTL or lower deadAfterMs`,
  );
}

/** `worker_id` when no supervisor assigns one: host and pid where known, else the identity. */
function defaultWorkerId(runtime: Runtime, identity: ProcessIdentity): string {
  const { hostname, pid } = runtime.facts;
  if (pid !== undefined) return hostname ? `${hostname}:${pid}` : `pid_${pid}`;
  return identity.base;
}
