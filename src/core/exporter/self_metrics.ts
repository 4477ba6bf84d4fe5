/**
 * The exporter's own health, published and aggregated like any other metric: publish errors,
 * storage latency, retired processes, series dropped, hook failures; and, computed at each scrape
 * rather than published, the damage found in storage.
 * @module
 */
import type { Registry } from "../values/metrics.ts";
import type { CollectorEvents, StorageDamage } from "../collect/collector.ts";
import type { MergedFamily } from "../collect/merge.ts";
import { Counter, declareOnce, Histogram } from "../values/metrics.ts";
import type { PublisherEvents } from "../publish/publisher.ts";

/** Counters and a latency histogram about the exporter itself. */
export class SelfMetrics {
  /** Publishes that failed. */
  readonly publishErrors: Counter<"backend">;
  /** Latency of storage calls. */
  readonly storageLatency: Histogram<"backend" | "operation">;
  /** Processes retired by this process's collector. */
  readonly retired: Counter<"backend">;
  /** Series left out over the series limit. */
  readonly dropped: Counter<"metric" | "reason">;
  /** Hooks that threw. */
  readonly hookErrors: Counter<"hook">;
  /** Scrapes that could not read storage. */
  readonly scrapeErrors: Counter<"backend">;
  /** Losses of stored data this process noticed and repaired by publishing its whole state again. */
  readonly storageResets: Counter<"backend">;
  /** Series this process served lower than before: a reset Prometheus sees, after storage lost data nobody could put back. */
  readonly resetSeries: Counter<"backend">;

  /**
   * Declares the exporter's own metrics.
   * @param registry Where they are registered.
   * @param namespace Metric name prefix.
   * @param backend The storage kind, as the `backend` label.
   */
  constructor(registry: Registry, namespace: string, readonly backend: string) {
    const p = `${namespace}_exporter_`;
    const registers = [registry];
    const declare = <M, C extends { name: string }>(kind: new (config: C) => M, config: C): M =>
      declareOnce(registry, kind, config, () => new kind(config));
    this.publishErrors = declare(Counter, {
      name: `${p}publish_errors_total`,
      help: "Publishes to storage that failed (retried with backoff).",
      labelNames: ["backend"],
      registers,
    });
    this.storageLatency = declare(Histogram, {
      name: `${p}storage_latency_seconds`,
      help: "Latency of storage calls.",
      labelNames: ["backend", "operation"],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.retired = declare(Counter, {
      name: `${p}retired_processes_total`,
      help: "Dead processes folded into the retired total.",
      labelNames: ["backend"],
      registers,
    });
    this.dropped = declare(Counter, {
      name: `${p}series_dropped_total`,
      help:
        "Series left out of a publish: their metric was at its series limit (reason limit), or their labels were too long to store (reason too_long); summed over publishes.",
      labelNames: ["metric", "reason"],
      registers,
    });
    this.hookErrors = declare(Counter, {
      name: `${p}hook_errors_total`,
      help: "Lifecycle hooks that threw.",
      labelNames: ["hook"],
      registers,
    });
    this.scrapeErrors = declare(Counter, {
      name: `${p}scrape_errors_total`,
      help: "Scrapes that could not read storage.",
      labelNames: ["backend"],
      registers,
    });
    this.storageResets = declare(Counter, {
      name: `${p}storage_resets_total`,
      help:
        "Times this process found that storage had lost what it acknowledged (a restart without persistence, a flush, an eviction, an expiry) and published its whole state again.",
      labelNames: ["backend"],
      registers,
    });
    this.resetSeries = declare(Counter, {
      name: `${p}reset_series_total`,
      help:
        "Series served lower than this process served them before, after the grace period for republishing: storage lost data that no process could put back (or the app reset them). Prometheus sees a reset for each.",
      labelNames: ["backend"],
      registers,
    });
    // Known label sets start at 0, so that a dashboard shows "no errors" rather than "no data".
    for (
      const counter of [this.publishErrors, this.retired, this.scrapeErrors, this.storageResets, this.resetSeries]
    ) {
      counter.inc({ backend }, 0);
    }
  }

  /** Events for the publisher. */
  publisherEvents(): PublisherEvents {
    const backend = this.backend;
    return {
      published: (seconds) => this.storageLatency.observe({ backend, operation: "publish" }, seconds),
      failed: (_error, seconds) => {
        this.publishErrors.inc({ backend });
        this.storageLatency.observe({ backend, operation: "publish" }, seconds);
      },
      dropped: (metric, count, reason) => this.dropped.inc({ metric, reason }, count),
      recovered: () => this.storageResets.inc({ backend }),
    };
  }

  /** Events for the collector. */
  collectorEvents(): CollectorEvents {
    const backend = this.backend;
    return {
      storageCall: (operation, seconds) => this.storageLatency.observe({ backend, operation }, seconds),
      retired: (count) => this.retired.inc({ backend }, count),
    };
  }
}

/**
 * `<ns>_exporter_storage_damaged_entries{backend,kind}`: what the scrape found damaged in storage,
 * as of this scrape (a gauge, so the same damage is not counted again on every scrape).
 * `kind` is `corrupt` (records that do not read), `stray` (entries that are not the backend's)
 * or `set_aside` (damaged data moved aside, kept until removed).
 */
export function damageFamily(namespace: string, backend: string, damage: StorageDamage): MergedFamily {
  const values = new Map<string, number>();
  for (const [kind, count] of [["corrupt", damage.corrupt], ["stray", damage.strays], ["set_aside", damage.setAside]]) {
    values.set(`{backend="${backend}",kind="${kind}"}`, count as number);
  }
  return {
    name: `${namespace}_exporter_storage_damaged_entries`,
    descriptor: {
      type: "gauge",
      help: "Damaged entries found in storage by this scrape: records that do not read, stray entries, data set aside.",
    },
    values,
    distributions: new Map(),
  };
}
