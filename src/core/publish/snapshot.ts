/**
 * Takes a process's snapshot: reads every metric of a prom-client registry through its public
 * `get()` and encodes each series compactly (see `codec/values.ts`). The publisher diffs snapshots to
 * send only what changed.
 * @module
 */
import type { Registry } from "../values/metrics.ts";
import { DEFAULT_GAUGE_MODE, type MultiprocessMode, needsTimestamp } from "../values/modes.ts";
import { seriesKey } from "../codec/series_key.ts";
import type { MetricDescriptor, MetricType } from "../storage.ts";
import { encodeGauge, encodeHistogram, encodeSummary } from "../codec/values.ts";
import { encodeDirectly } from "./direct.ts";
import { nativeFor } from "../values/native_histograms.ts";

/** A series as prom-client's `get()` reports it. */
export interface Sample {
  /** The sample's value. */
  value: number;
  /** Its labels, `le` and `quantile` included. */
  labels: Record<string, string | number | undefined>;
  /** The sample name when it differs from the metric's (`_bucket`, `_sum`, `_count`). */
  metricName?: string;
}

/** A metric as the snapshot sees it: prom-client's metric objects satisfy this. */
interface SnapshotSource {
  name: string;
  get(): Promise<{ name: string; help: string; type: string; values: Sample[] }>;
  multiprocessMode?: MultiprocessMode;
  setTimes?: ReadonlyMap<string, number>;
  upperBounds?: readonly number[];
}

/**
 * A metric that encodes itself, skipping prom-client's `get()` objects: the fast path for the
 * exporter's own per-request metrics. It also has `get()` and `reset()`, so a prom-client registry
 * can hold and render it like any other metric.
 */
export interface EncodedMetric {
  /** Metric name. */
  readonly name: string;
  /** HELP text. */
  readonly help: string;
  /** Metric type. */
  readonly type: MetricType;
  /** prom-client's cluster aggregator name. */
  readonly aggregator: string;
  /** prom-client's view of the metric. */
  get(): Promise<{ name: string; help: string; type: string; values: Sample[]; aggregator: string }>;
  /** Forgets every series. */
  reset(): void;
  /** The descriptor and every series, encoded. */
  encodeSnapshot(): { descriptor: MetricDescriptor; series: Array<[string, string]> };
  /**
   * Families published beside this metric that no registry shows (the exemplars of the request
   * metrics, `__exemplars:<name>`, which only the merge reads).
   */
  companions?(): ReadonlyArray<{ name: string; descriptor: MetricDescriptor; series: Array<[string, string]> }>;
}

/** One process's metrics, encoded. */
export interface Snapshot {
  /** Descriptor of each metric, by metric name. */
  readonly descriptors: Map<string, MetricDescriptor>;
  /** Encoded value of each series, by series key. */
  readonly series: Map<string, string>;
}

/** Options of {@link takeSnapshot}. */
export interface SnapshotOptions {
  /** Mode per gauge name (validated), for gauges that do not carry one (plain prom-client gauges). */
  readonly gaugeModes?: Readonly<Record<string, MultiprocessMode>>;
  /** Most series kept per metric; later new series are dropped and reported. */
  readonly seriesLimit: number;
  /** Series keys already published, which stay within the limit. */
  readonly known: ReadonlyMap<string, string>;
  /**
   * Called once per metric, publish and reason with the number of series dropped: over the
   * metric's series limit, or with labels too long to store ({@link MAX_SERIES_KEY_LENGTH}).
   */
  readonly onDropped: (metric: string, count: number, reason: DropReason) => void;
  /** The gauges' series of the previous snapshot: gauges in a time-stamped mode keep their set time when unchanged. */
  readonly previous?: ReadonlyMap<string, string>;
  /** Current time, in milliseconds since the epoch. */
  readonly now: number;
}

/** Reads and encodes every metric of `registry`. */
export async function takeSnapshot(registry: Registry, options: SnapshotOptions): Promise<Snapshot> {
  const series = new Map<string, string>();
  const descriptors = await encodeSnapshot(registry, options, (key, value) => series.set(key, value));
  return { descriptors, series };
}

/**
 * Receives each encoded series of a snapshot; `gauge` tells a gauge's series; `anew` tells a value
 * encoded anew from a count or sum that changed since the last snapshot, which need not be compared
 * with what storage has (see `Put` in `direct.ts`); false when that is not known.
 */
export type SeriesSink = (key: string, value: string, gauge: boolean, anew: boolean) => void;

/**
 * Reads and encodes every metric of `registry`, handing each series to `sink` as it is encoded
 * (the publisher compares it with what storage has, without a map of every series in between);
 * returns the descriptors.
 */
export async function encodeSnapshot(
  registry: Registry,
  options: SnapshotOptions,
  sink: SeriesSink,
): Promise<Map<string, MetricDescriptor>> {
  const descriptors = new Map<string, MetricDescriptor>();
  const all = registry.getMetricsAsArray() as unknown as Array<SnapshotSource | EncodedMetric>;
  const metrics: SnapshotSource[] = [];
  for (const metric of all) {
    if (!("encodeSnapshot" in metric)) {
      const limited = new Limiter(metric.name, false, options, sink);
      const descriptor = encodeDirectly(metric, limited.put);
      if (descriptor === undefined) metrics.push(metric);
      else descriptors.set(metric.name, descriptor);
      limited.report();
      continue;
    }
    for (const encoded of [{ name: metric.name, ...metric.encodeSnapshot() }, ...metric.companions?.() ?? []]) {
      const limited = new Limiter(encoded.name, encoded.descriptor.type === "gauge", options, sink);
      descriptors.set(encoded.name, encoded.descriptor);
      for (const [key, value] of encoded.series) limited.put(key, value);
      limited.report();
    }
  }
  const results = await Promise.all(metrics.map((m) => m.get()));
  for (let i = 0; i < metrics.length; i++) {
    const metric = metrics[i];
    const data = results[i];
    const type = data.type as MetricType;
    const limited = new Limiter(data.name, type === "gauge", options, sink);
    if (type === "counter") {
      descriptors.set(data.name, { type, help: data.help });
      for (const s of data.values) limited.put(seriesKey(data.name, s.labels), String(s.value));
    } else if (type === "gauge") {
      // gaugeModes were validated once, by resolveConfig.
      const mode = metric.multiprocessMode ?? options.gaugeModes?.[data.name] ?? DEFAULT_GAUGE_MODE;
      descriptors.set(data.name, { type, help: data.help, mode });
      const stamped = needsTimestamp(mode);
      for (const s of data.values) {
        const key = seriesKey(data.name, s.labels);
        const setAt = stamped ? gaugeSetTime(metric, key, s.value, options) : undefined;
        limited.put(key, encodeGauge(s.value, setAt));
      }
    } else if (type === "histogram") {
      const seen = encodeHistograms(metric, data.name, data.values, limited);
      const buckets = [...(metric.upperBounds ?? seen)];
      descriptors.set(data.name, { type, help: data.help, buckets });
    } else if (type === "summary") {
      descriptors.set(data.name, { type, help: data.help });
      encodeSummaries(data.name, data.values, limited);
    }
    limited.report();
  }
  return descriptors;
}

/** Why a series was left out of a publish. */
export type DropReason = "limit" | "too_long";

/**
 * The longest series key (metric name and labels) that is stored, in characters: a label value
 * of a megabyte would be written to storage, and read by every scrape, on each change.
 */
export const MAX_SERIES_KEY_LENGTH = 4096;

/** Keeps at most `seriesLimit` series of one metric, preferring series already published. */
class Limiter {
  #count = 0;
  #dropped = 0;
  #tooLong = 0;
  constructor(
    readonly metric: string,
    readonly gauge: boolean,
    readonly options: SnapshotOptions,
    readonly sink: SeriesSink,
  ) {}
  /** Hands the series on, unless it is over the limit or too long. */
  readonly put = (key: string, value: string, anew = false): void => {
    if (key.length > MAX_SERIES_KEY_LENGTH) {
      this.#tooLong++;
      return;
    }
    if (this.#count >= this.options.seriesLimit && !this.options.known.has(key)) {
      this.#dropped++;
      return;
    }
    this.#count++;
    this.sink(key, value, this.gauge, anew);
  };
  report(): void {
    if (this.#dropped > 0) this.options.onDropped(this.metric, this.#dropped, "limit");
    if (this.#tooLong > 0) this.options.onDropped(this.metric, this.#tooLong, "too_long");
  }
}

function gaugeSetTime(metric: SnapshotSource, key: string, value: number, options: SnapshotOptions): number {
  const recorded = metric.setTimes?.get(key);
  if (recorded !== undefined) return recorded;
  // A gauge that does not record set times: the time the change was first seen stands in.
  const before = options.previous?.get(key);
  if (before !== undefined) {
    const at = before.indexOf("@");
    if (at !== -1 && Number(before.slice(0, at)) === value) return Number(before.slice(at + 1));
  }
  return options.now;
}

function encodeHistograms(metric: SnapshotSource, name: string, values: Sample[], limited: Limiter): number[] {
  // prom-client reports each series as its buckets in ascending order, then _sum, then _count.
  let bounds: number[] | undefined;
  let counts: number[] = [];
  let current: number[] = [];
  let sum = 0;
  for (const v of values) {
    const suffix = v.metricName?.slice(name.length);
    if (suffix === "_bucket") {
      const le = v.labels.le;
      if (le !== "+Inf" && le !== Infinity) {
        current.push(Number(le));
        counts.push(v.value);
      }
    } else if (suffix === "_sum") {
      sum = v.value;
    } else if (suffix === "_count") {
      bounds ??= current;
      const key = seriesKey(name, v.labels, "le");
      limited.put(key, encodeHistogram(sum, v.value, counts, nativeFor(metric, key, v.value)));
      counts = [];
      current = [];
    }
  }
  return bounds ?? [];
}

function encodeSummaries(name: string, values: Sample[], limited: Limiter): void {
  let sum = 0;
  for (const v of values) {
    const suffix = v.metricName?.slice(name.length);
    if (suffix === "_sum") sum = v.value;
    else if (suffix === "_count") limited.put(seriesKey(name, v.labels), encodeSummary(sum, v.value));
  }
}
