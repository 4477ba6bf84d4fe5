/**
 * The publisher: on an interval, on flush() and at shutdown, it sends the series that changed since
 * the last acknowledged publish, as absolute values, in one storage call. A failed publish leaves
 * its series unacknowledged, so the next attempt sends them again: nothing is lost, nothing counts twice.
 * Each publish tells storage what it acknowledged before (`expect`); when storage has lost it, the
 * process publishes its whole state again, with what its restore point knows of the others.
 * @module
 */
import type { Registry } from "../values/metrics.ts";
import { backoffDelay, type BackoffPolicy } from "./backoff.ts";
import { type ConfigError, configErrorIn, describeError, StorageError } from "../errors.ts";
import type { ProcessIdentity } from "./identity.ts";
import type { Logger } from "../log.ts";
import type { MultiprocessMode } from "../values/modes.ts";
import { splitSeriesKey } from "../codec/series_key.ts";
import { type DropReason, encodeSnapshot } from "./snapshot.ts";
import { droppedLine, lossLine, type Undelivered, undelivered } from "./lines.ts";
import {
  type MetricDescriptor,
  NOTHING_RESTORED,
  type ProcessUpdate,
  type PublishOutcome,
  type Restored,
  type Storage,
  type StoredState,
} from "../storage.ts";
import { RestorePoint } from "../collect/restore_point.ts";
import { unrefIfPossible, type UnrefTimer } from "../timers.ts";
import { combine } from "../codec/values.ts";

/** What the publisher reports, for the exporter's own metrics. */
export interface PublisherEvents {
  /** A publish was acknowledged after `seconds`, carrying `series` changed series. */
  published?(seconds: number, series: number): void;
  /** A publish failed after `seconds`. */
  failed?(error: unknown, seconds: number): void;
  /** `count` new series of `metric` were left out because the metric is at its series limit. */
  dropped?(metric: string, count: number, reason: DropReason): void;
  /** Storage had retired this process; it now publishes as `id`. */
  reincarnated?(id: string): void;
  /** Storage had lost what it acknowledged of this process; its whole state was published again. */
  recovered?(lost: string, series: number, restored: Restored): void;
}

/** Options of {@link Publisher}. */
export interface PublisherOptions {
  /** The registry whose metrics are published. */
  readonly registry: Registry;
  /** Where they go. */
  readonly storage: Storage;
  /** This process. */
  readonly identity: ProcessIdentity;
  /** Current time in milliseconds since the epoch. */
  readonly clock: () => number;
  /** Most series per metric. */
  readonly seriesLimit: number;
  /** Modes of plain prom-client gauges, by name. */
  readonly gaugeModes?: Readonly<Record<string, MultiprocessMode>>;
  /** Retry schedule after a failed publish. */
  readonly backoff: BackoffPolicy;
  /** Where outages are reported, once each. */
  readonly logger: Logger;
  /** Keeps the interval timer from holding the process open. */
  readonly unrefTimer?: UnrefTimer;
  /** Hooks for the exporter's own metrics. */
  readonly events?: PublisherEvents;
  /** What this process knows of storage beyond its own values; one of its own when not given. */
  readonly restorePoint?: RestorePoint;
}

/** One publish's worth of change: the series and descriptors storage has not acknowledged, and every descriptor. */
interface Change {
  readonly series: Map<string, string>;
  readonly descriptors: Map<string, MetricDescriptor>;
  readonly descriptorJson: Map<string, string>;
  readonly all: Map<string, MetricDescriptor>;
}

/** Publishes one process's metrics to storage. */
export class Publisher {
  readonly #o: PublisherOptions;
  #acked = new Map<string, string>();
  #ackedDescriptors = new Map<string, string>();
  #baseline = new Map<string, string>();
  #previous: Map<string, string> | undefined;
  #chain: Promise<unknown> = Promise.resolve();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #intervalMs = 0;
  #failures = 0;
  #lastError: unknown;
  #droppedWarned = new Set<string>();
  /** A configuration that cannot work, found by a publish: nothing is sent or retried again. */
  #fatal: ConfigError | undefined;
  #lastHeartbeat = 0;
  /** The heartbeat of the last acknowledged publish; 0 when storage holds nothing of this process. */
  #ackedHeartbeat = 0;
  /** The heartbeat of a later publish that failed without an answer (it may have landed). */
  #sentHeartbeat: number | undefined;
  /** What storage lost, until the whole state is published again. */
  #lost: string | undefined;
  /** The loss epoch storage answered last (undefined before the first answer). */
  #epoch: string | undefined;
  readonly #restorePoint: RestorePoint;

  /**
   * Creates a publisher; nothing is sent until `publish()` or `start()`.
   * @param options What to publish, where, and how to retry.
   */
  constructor(options: PublisherOptions) {
    this.#o = options;
    this.#restorePoint = options.restorePoint ?? new RestorePoint();
  }

  /** The error of the latest publish when it failed; undefined once a publish succeeds. */
  get lastError(): unknown {
    return this.#lastError;
  }

  /** Series acknowledged by storage so far (their number bounds this publisher's memory). */
  get acknowledgedSeries(): number {
    return this.#acked.size;
  }

  /**
   * What storage has not acknowledged of this process's values now: how many series differ from
   * what it acknowledged, and by how much each counter metric is ahead (for the shutdown's last word).
   */
  undelivered(): Promise<Undelivered> {
    const o = this.#o;
    return undelivered(
      o.registry,
      { gaugeModes: o.gaugeModes, seriesLimit: o.seriesLimit, now: o.clock() },
      this.#acked,
    );
  }

  /**
   * Publishes now, after any publish already under way. Rejects when storage fails; the series
   * stay pending and are sent by the next publish.
   */
  publish(options: { exited?: boolean } = {}): Promise<void> {
    if (this.#fatal !== undefined) return Promise.reject(this.#fatal);
    const run = this.#chain.then(() => this.#publishOnce(options.exited ?? false, 0, false, false));
    this.#chain = run.catch(() => {});
    return run.then(() => {});
  }

  /**
   * Publishes, and reads the whole state in the same round trip where the backend can
   * (`publishAndRead`): the state, or undefined when it was not read. Rejects when the publish fails.
   */
  publishAndRead(): Promise<StoredState | undefined> {
    if (this.#fatal !== undefined) return Promise.reject(this.#fatal);
    const run = this.#chain.then(() => this.#publishOnce(false, 0, true, false));
    this.#chain = run.catch(() => {});
    return run;
  }

  /** Publishes every `intervalMs`, and with backoff after a failure. */
  start(intervalMs: number): void {
    this.#intervalMs = intervalMs;
    if (this.#timer === undefined) this.#schedule(intervalMs);
  }

  /** Stops the interval. A publish under way finishes. */
  stop(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#intervalMs = 0;
  }

  #schedule(ms: number): void {
    this.#timer = setTimeout(() => this.#tick(), ms);
    (this.#o.unrefTimer ?? unrefIfPossible)(this.#timer);
  }

  async #tick(): Promise<void> {
    let next = this.#intervalMs;
    try {
      await this.publish();
    } catch {
      next = Math.max(1, backoffDelay(this.#o.backoff, this.#failures));
    }
    if (this.#intervalMs > 0) this.#schedule(next);
  }

  async #publishOnce(
    exited: boolean,
    depth: number,
    read: boolean,
    lost: boolean,
  ): Promise<StoredState | undefined> {
    const o = this.#o;
    // After a loss, every publish replaces the whole state until one is acknowledged.
    const replace = lost || this.#lost !== undefined;
    // Strictly increasing, so that a retirement's compare-and-set on the heartbeat sees every publish.
    const now = this.#lastHeartbeat = Math.max(o.clock(), this.#lastHeartbeat + 1);
    const change = await this.#encode(now);
    const update = this.#update(now, exited, replace, change);
    const started = performance.now();
    let answer: { outcome: PublishOutcome; state?: StoredState };
    try {
      answer = read && o.storage.publishAndRead !== undefined
        ? await o.storage.publishAndRead(update)
        : { outcome: await o.storage.publish(update) };
    } catch (error) {
      this.#sentHeartbeat = now;
      this.#failed(error, (performance.now() - started) / 1000);
      throw error;
    }
    const seconds = (performance.now() - started) / 1000;
    const { outcome } = answer;
    if (outcome.status === "lost") {
      // Storage no longer holds what it acknowledged: nothing was written. Everything is sent
      // again, with what this process knows of the others, in the next round trip.
      this.#lost ??= outcome.lost;
      this.#forget();
      if (depth < 3) return this.#publishOnce(exited, depth + 1, read, true);
      const error = new StorageError(o.storage.kind, `storage kept losing this process's ${outcome.lost}; retrying`, {
        transient: true,
      });
      this.#failed(error, seconds);
      throw error;
    }
    if (outcome.status === "retired") {
      // A collector took this process for dead and folded what storage held: those values now
      // live in the retired total, so from here on only the rest is published, under a new id.
      this.#addToBaseline(outcome.folded, change.all);
      this.#forget();
      const id = o.identity.reincarnate();
      o.events?.reincarnated?.(id);
      if (depth < 3) return this.#publishOnce(exited, depth + 1, read, false);
      const error = new StorageError(o.storage.kind, "storage kept answering that this process was retired; retrying", {
        transient: true,
      });
      this.#failed(error, seconds);
      throw error;
    }
    this.#acknowledge(now, replace, change, outcome);
    o.events?.published?.(seconds, change.series.size);
    return answer.state;
  }

  /**
   * Encodes the registry and keeps what differs from what storage acknowledged: each series is
   * compared as it is encoded; after a reincarnation (rare) the retired baseline is taken off
   * first, which needs every series.
   */
  async #encode(now: number): Promise<Change> {
    const o = this.#o;
    const acked = this.#acked;
    const full = this.#baseline.size > 0 ? new Map<string, string>() : undefined;
    const fresh = new Map<string, string>();
    const gauges = new Map<string, string>();
    const all = await encodeSnapshot(o.registry, {
      gaugeModes: o.gaugeModes,
      seriesLimit: o.seriesLimit,
      known: acked,
      previous: this.#previous,
      now,
      onDropped: (metric, count, reason) => this.#dropped(metric, count, reason),
    }, (key, value, gauge, anew) => {
      if (gauge) gauges.set(key, value);
      if (full !== undefined) full.set(key, value);
      else if (anew || acked.get(key) !== value) fresh.set(key, value);
    });
    this.#previous = gauges;
    const descriptors = new Map<string, MetricDescriptor>();
    const descriptorJson = new Map<string, string>();
    for (const [name, d] of all) {
      const json = JSON.stringify(d);
      if (this.#ackedDescriptors.get(name) === json) continue;
      descriptors.set(name, d);
      descriptorJson.set(name, json);
    }
    const series = full === undefined ? fresh : this.#changedSeries(full, all);
    return { series, descriptors, descriptorJson, all };
  }

  /** The publish: the change, what storage acknowledged before, and after a loss the restoration. */
  #update(now: number, exited: boolean, replace: boolean, change: Change): ProcessUpdate {
    const { identity } = this.#o;
    const acknowledged = this.#ackedHeartbeat;
    return {
      processId: identity.id,
      heartbeat: now,
      exited,
      descriptors: change.descriptors,
      series: change.series,
      expect: replace || acknowledged === 0 ? undefined : {
        heartbeat: acknowledged,
        sent: this.#sentHeartbeat,
        series: this.#acked.size > 0,
        descriptors: this.#ackedDescriptors.size > 0,
        retired: (this.#restorePoint.retired?.series.size ?? 0) > 0,
      },
      retiredVersion: this.#restorePoint.retiredVersion,
      // A repair that failed may have been too large to send: the next one carries the retired
      // total and this process's own state only.
      ...(replace ? { replace, restore: this.#restorePoint.restoration(identity.id, this.#failures === 0) } : {}),
    };
  }

  /** What a folded (mistaken) retirement took: from now on it is taken off what this process publishes. */
  #addToBaseline(folded: ReadonlyMap<string, string>, descriptors: ReadonlyMap<string, MetricDescriptor>): void {
    for (const [key, value] of folded) {
      const d = descriptors.get(splitSeriesKey(key)[0]);
      if (d === undefined || d.type === "gauge") continue;
      const before = this.#baseline.get(key);
      const total = before === undefined ? value : combine(d.type, before, value, 1, d.buckets ?? []);
      if (total !== undefined) this.#baseline.set(key, total);
    }
  }

  /** Storage acknowledged `change` at `now`: it becomes what the next publish is compared with. */
  #acknowledge(now: number, replace: boolean, change: Change, outcome: PublishOutcome & { status: "ok" }): void {
    const o = this.#o;
    change.series.forEach((value, key) => this.#acked.set(key, value));
    for (const [name, json] of change.descriptorJson) this.#ackedDescriptors.set(name, json);
    this.#ackedHeartbeat = now;
    this.#sentHeartbeat = undefined;
    // Another process repaired a loss: the descriptors shared by all may have lost some of ours.
    if (outcome.epoch !== undefined) {
      if (this.#epoch !== undefined && outcome.epoch !== this.#epoch && !replace) this.#ackedDescriptors.clear();
      this.#epoch = outcome.epoch;
    }
    if (outcome.retired !== undefined) this.#restorePoint.learn(outcome.retired, outcome.descriptors ?? new Map());
    if (replace && this.#lost !== undefined) {
      this.#recovered(this.#lost, change.series.size, outcome.restored ?? NOTHING_RESTORED);
      this.#lost = undefined;
    }
    this.#lastError = undefined;
    if (this.#failures > 0) {
      o.logger.warn(
        `publishing to ${o.storage.kind} storage recovered after ${this.#failures} failed attempt(s); ` +
          "what was recorded meanwhile is delivered",
      );
      this.#failures = 0;
    }
  }

  /** Storage holds nothing of this process as far as it knows: the next publish carries everything. */
  #forget(): void {
    this.#acked.clear();
    this.#ackedDescriptors.clear();
    this.#ackedHeartbeat = 0;
    this.#sentHeartbeat = undefined;
  }

  #recovered(lost: string, series: number, restored: Restored): void {
    this.#o.logger.warn(lossLine(this.#o.storage.kind, lost, series, restored, this.#restorePoint.retiredVersion));
    this.#o.events?.recovered?.(lost, series, restored);
  }

  /** After a reincarnation: the series, less the retired baseline, that differ from what storage acknowledged. */
  #changedSeries(current: Map<string, string>, descriptors: Map<string, MetricDescriptor>): Map<string, string> {
    const changed = new Map<string, string>();
    for (const [key, raw] of current) {
      let value = raw;
      const base = this.#baseline.get(key);
      const d = base === undefined ? undefined : descriptors.get(splitSeriesKey(key)[0]);
      if (base !== undefined && d !== undefined && d.type !== "gauge") {
        value = combine(d.type, raw, base, -1, d.buckets ?? []) ?? raw;
      }
      if (this.#acked.get(key) !== value) changed.set(key, value);
    }
    return changed;
  }

  #failed(error: unknown, seconds: number): void {
    const config = configErrorIn(error);
    if (config !== undefined) {
      // Said once; the exporter's whenReady rejects with it, and scrapes answer it.
      this.#fatal = config;
      this.stop();
      this.#o.logger.error(`publishing to ${this.#o.storage.kind} storage cannot work: ${config.message}`);
      throw config;
    }
    this.#failures++;
    this.#lastError = error;
    if (this.#failures === 1) {
      this.#o.logger.error(
        `publishing to ${this.#o.storage.kind} storage failed (${describeError(error)}); ` +
          `retrying with backoff, values keep accumulating locally`,
      );
    }
    this.#o.events?.failed?.(error, seconds);
  }

  #dropped(metric: string, count: number, reason: DropReason): void {
    const warned = `${reason}:${metric}`;
    if (!this.#droppedWarned.has(warned) && this.#droppedWarned.size < 1000) {
      this.#droppedWarned.add(warned);
      this.#o.logger.warn(droppedLine(metric, reason, this.#o.seriesLimit));
    }
    this.#o.events?.dropped?.(metric, count, reason);
  }
}
