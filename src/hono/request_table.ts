/**
 * The per-request metrics (request counter and duration histogram) kept in one table keyed by
 * route, method and status: recording is three map lookups and a few additions, with no label
 * objects hashed or validated on the request path. The table shows itself to prom-client
 * registries as two metrics with the usual `get()`, and to the publisher through the
 * `encodeSnapshot()` fast path.
 * @module
 */
import type { EncodedMetric, Sample } from "../core/publish/snapshot.ts";
import { appendLabel, labelsPart, seriesKey } from "../core/codec/series_key.ts";
import type { MetricDescriptor } from "../core/storage.ts";
import { encodeExemplar, encodeHistogram, EXEMPLARS } from "../core/codec/values.ts";
import { emptyNative, type NativeBuckets } from "../core/codec/native.ts";
import { cumulativeOf, observeInto, pushHistogramSamples } from "./observe.ts";

interface Row {
  readonly method: string;
  readonly route: string;
  readonly status: string;
  /** The custom labels' values, in the order of their names. */
  readonly custom?: readonly string[];
  /** The latest exemplar of the counter and of each bucket (the last is +Inf), when exemplars are on. */
  exemplars?: { counter: Exemplar; buckets: Array<Exemplar | undefined> };
  count: number;
  sum: number;
  /** Non-cumulative counts per finite bucket. */
  readonly buckets: Float64Array;
  /** The native histogram's buckets, when the duration is one. */
  readonly native: NativeBuckets | undefined;
  /** What the last publish encoded, reused while the row is unchanged. */
  encoded?: Encoded;
}

/** An observation with its trace: its value, when it was made (ms), its labels part without braces. */
interface Exemplar {
  readonly value: number;
  readonly at: number;
  readonly labels: string;
}

interface Encoded {
  readonly worker: string | undefined;
  readonly counterKey: string;
  readonly histogramKey: string;
  count: number;
  counter: string;
  histogram: string;
}

/** Options of {@link RequestTable}. */
export interface RequestTableOptions {
  /** Name of the request counter. */
  readonly counterName: string;
  /** Name of the duration histogram. */
  readonly histogramName: string;
  /** Finite bucket upper bounds, ascending. */
  readonly bounds: readonly number[];
  /** Label both metrics with `ok` ("true" for a 2xx status), as @hono/prometheus does. */
  readonly okLabel: boolean;
  /** Returns the `worker_id` label of the counter, or undefined for none. */
  readonly workerId: () => string | undefined;
  /** Names of the custom labels of both metrics (see `http_options.ts`), if any. */
  readonly customLabels?: readonly string[];
  /** Keep each row's latest exemplar, published as the families `__exemplars:<name>` (see `merge.ts`). */
  readonly exemplars?: boolean;
  /** Keep the duration as a native histogram too. */
  readonly native?: boolean;
}

/** Requests by route, method and status, with their durations. */
export class RequestTable {
  readonly #rows = new Map<string, Map<string, Map<number, Row>>>();
  /** Rows with custom labels, by route, method, status and values joined. */
  readonly #customRows = new Map<string, Row>();
  readonly #bounds: readonly number[];
  readonly customLabels: readonly string[];
  readonly #okLabel: boolean;
  readonly #native: boolean;
  readonly workerId: () => string | undefined;
  readonly counter: EncodedMetric;
  readonly histogram: EncodedMetric;
  /** Whether each row keeps its latest exemplars, published beside the two metrics (`companions`). */
  #exemplars = false;

  /** @param options Names, buckets and labels of the two metrics. */
  constructor(options: RequestTableOptions) {
    const { counterName, histogramName } = options;
    this.#bounds = options.bounds;
    this.#okLabel = options.okLabel;
    this.#native = options.native ?? false;
    this.workerId = options.workerId;
    this.customLabels = options.customLabels ?? [];
    const counterHelp = "HTTP requests handled, by method, matched route and status.";
    const histogramHelp = "Time to handle an HTTP request, in seconds.";
    this.counter = {
      name: counterName,
      help: counterHelp,
      type: "counter",
      aggregator: "sum",
      get: () => Promise.resolve(this.#promCounter(counterName, counterHelp)),
      reset: () => this.#reset(),
      encodeSnapshot: () => this.#encodeCounter(counterHelp),
      companions: () => this.#companions(counterName, false),
    };
    this.histogram = {
      name: histogramName,
      help: histogramHelp,
      type: "histogram",
      aggregator: "sum",
      get: () => Promise.resolve(this.#promHistogram(histogramName, histogramHelp)),
      reset: () => this.#reset(),
      encodeSnapshot: () => this.#encodeHistogram(histogramHelp),
      companions: () => this.#companions(histogramName, true),
    };
    if (options.exemplars) this.keepExemplars();
  }

  /**
   * Keeps each row's latest exemplar from now on (a second middleware of the registry may ask for
   * them after the first did not), published beside the two metrics as the families
   * `__exemplars:<name>`, which only the merge reads: no registry shows them.
   */
  keepExemplars(): void {
    this.#exemplars = true;
  }

  /** The exemplars of the counter (`buckets` false) or of the histogram's buckets, as their family. */
  #companions(target: string, buckets: boolean): ReturnType<NonNullable<EncodedMetric["companions"]>> {
    if (!this.#exemplars) return [];
    const family = `${EXEMPLARS}${target}`;
    return [{ name: family, ...this.#encodeExemplars(family, buckets) }];
  }

  /**
   * Records one request, with the custom labels' values when there are custom labels.
   * Synchronous, allocation-free once a row exists (without custom labels).
   */
  record(
    method: string,
    route: string,
    status: number,
    seconds: number,
    custom?: readonly string[],
    exemplar?: string,
  ): void {
    if (custom !== undefined || exemplar !== undefined) {
      return this.#recordSlow(method, route, status, seconds, custom, exemplar);
    }
    observeInto(this.#plainRow(method, route, status), seconds, this.#bounds);
  }

  #plainRow(method: string, route: string, status: number): Row {
    let byMethod = this.#rows.get(route);
    if (byMethod === undefined) this.#rows.set(route, byMethod = new Map());
    let byStatus = byMethod.get(method);
    if (byStatus === undefined) byMethod.set(method, byStatus = new Map());
    let row = byStatus.get(status);
    if (row === undefined) {
      const buckets = new Float64Array(this.#bounds.length);
      const native = this.#native ? emptyNative() : undefined;
      row = { method, route, status: String(status), custom: undefined, count: 0, sum: 0, buckets, native };
      byStatus.set(status, row);
    }
    return row;
  }

  /** A request with custom labels, or with an exemplar (kept as the row's latest, and its bucket's). */
  #recordSlow(
    method: string,
    route: string,
    status: number,
    seconds: number,
    custom: readonly string[] | undefined,
    exemplar: string | undefined,
  ): void {
    const row = custom === undefined
      ? this.#plainRow(method, route, status)
      : this.#customRow(method, route, status, custom);
    observeInto(row, seconds, this.#bounds);
    if (exemplar === undefined || !this.#exemplars) return;
    const seen = { value: seconds, at: Date.now(), labels: exemplar };
    const bounds = this.#bounds;
    let bucket = bounds.length; // +Inf
    for (let i = 0; i < bounds.length; i++) {
      if (seconds <= bounds[i]) {
        bucket = i;
        break;
      }
    }
    row.exemplars ??= { counter: seen, buckets: [] };
    row.exemplars.counter = { ...seen, value: 1 };
    row.exemplars.buckets[bucket] = seen;
  }

  #customRow(method: string, route: string, status: number, custom: readonly string[]): Row {
    const key = `${route}\u0000${method}\u0000${status}\u0000${custom.join("\u0000")}`;
    let row = this.#customRows.get(key);
    if (row === undefined) {
      const buckets = new Float64Array(this.#bounds.length);
      const native = this.#native ? emptyNative() : undefined;
      row = { method, route, status: String(status), custom, count: 0, sum: 0, buckets, native };
      this.#customRows.set(key, row);
    }
    return row;
  }

  /** Every row's exemplars, as the series of `family` (see {@link EXEMPLARS}). */
  #encodeExemplars(
    family: string,
    buckets: boolean,
  ): { descriptor: MetricDescriptor; series: Array<[string, string]> } {
    const series: Array<[string, string]> = [];
    for (const row of this.#each()) {
      const kept = row.exemplars;
      if (kept === undefined) continue;
      const labels = labelsPart(this.#labels(row, !buckets));
      if (!buckets) {
        series.push([`${family}${labels}`, encodeExemplar(kept.counter.value, kept.counter.at, kept.counter.labels)]);
      } else {
        kept.buckets.forEach((e, i) => {
          if (e !== undefined) {
            series.push([
              `${family}${appendLabel(labels, "__bucket", String(i))}`,
              encodeExemplar(e.value, e.at, e.labels),
            ]);
          }
        });
      }
    }
    return { descriptor: { type: "gauge", help: "Exemplars.", mode: "mostrecent" }, series };
  }

  #reset(): void {
    this.#rows.clear();
    this.#customRows.clear();
  }

  *#each(): Generator<Row> {
    for (const byMethod of this.#rows.values()) {
      for (const byStatus of byMethod.values()) yield* byStatus.values();
    }
    yield* this.#customRows.values();
  }

  #labels(row: Row, withWorker: boolean): Record<string, string> {
    const labels: Record<string, string> = { method: row.method, route: row.route, status: row.status };
    if (this.#okLabel) labels.ok = String(row.status.length === 3 && row.status[0] === "2");
    if (row.custom !== undefined) this.customLabels.forEach((name, i) => labels[name] = row.custom![i]);
    const worker = withWorker ? this.workerId() : undefined;
    if (worker !== undefined) labels.worker_id = worker;
    return labels;
  }

  /** The row's keys and values, encoded again only when it changed (each request adds to the count). */
  #encoded(row: Row): Encoded {
    const worker = this.workerId();
    let e = row.encoded;
    if (e === undefined || e.worker !== worker) {
      e = row.encoded = {
        worker,
        counterKey: seriesKey(this.counter.name, this.#labels(row, true)),
        histogramKey: seriesKey(this.histogram.name, this.#labels(row, false)),
        count: NaN,
        counter: "",
        histogram: "",
      };
    }
    if (e.count !== row.count) {
      e.count = row.count;
      e.counter = String(row.count);
      e.histogram = encodeHistogram(row.sum, row.count, cumulativeOf(row), row.native);
    }
    return e;
  }

  #encodeCounter(help: string): { descriptor: MetricDescriptor; series: Array<[string, string]> } {
    const series: Array<[string, string]> = [];
    for (const row of this.#each()) {
      const e = this.#encoded(row);
      series.push([e.counterKey, e.counter]);
    }
    return { descriptor: { type: "counter", help }, series };
  }

  #encodeHistogram(help: string): { descriptor: MetricDescriptor; series: Array<[string, string]> } {
    const series: Array<[string, string]> = [];
    for (const row of this.#each()) {
      const e = this.#encoded(row);
      series.push([e.histogramKey, e.histogram]);
    }
    return { descriptor: { type: "histogram", help, buckets: [...this.#bounds] }, series };
  }

  #promCounter(name: string, help: string) {
    const values: Sample[] = [];
    for (const row of this.#each()) values.push({ value: row.count, labels: this.#labels(row, true) });
    return { name, help, type: "counter", values, aggregator: "sum" };
  }

  #promHistogram(name: string, help: string) {
    const values: Sample[] = [];
    for (const row of this.#each()) pushHistogramSamples(values, name, this.#labels(row, false), row, this.#bounds);
    return { name, help, type: "histogram", values, aggregator: "sum" };
  }
}
