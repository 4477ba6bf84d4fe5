/**
 * Response sizes by route and method, kept the way the request table keeps durations
 * (`request_table.ts`): recording is two map lookups and a few additions, with no label object
 * hashed or validated on the request path (prom-client's `observe` costs a request about as much
 * as the rest of its record). The table shows itself to prom-client registries as a histogram with
 * the usual `get()`, and to the publisher through the `encodeSnapshot()` fast path.
 * @module
 */
import type { EncodedMetric, Sample } from "../core/publish/snapshot.ts";
import { seriesKey } from "../core/codec/series_key.ts";
import type { MetricDescriptor } from "../core/storage.ts";
import { encodeHistogram } from "../core/codec/values.ts";
import { emptyNative, type NativeBuckets } from "../core/codec/native.ts";
import { cumulativeOf, observeInto, pushHistogramSamples } from "./observe.ts";

interface Row {
  readonly labels: { readonly method: string; readonly route: string };
  count: number;
  sum: number;
  /** Non-cumulative counts per finite bucket. */
  readonly buckets: Float64Array;
  /** The native histogram's buckets, when the table keeps them. */
  readonly native: NativeBuckets | undefined;
  /** The series key, and the value the last publish encoded (reused while the count is unchanged). */
  key?: string;
  encodedCount?: number;
  encoded?: string;
}

/** A histogram of sizes in bytes, labelled by method and route. */
export class SizeTable implements EncodedMetric {
  readonly name: string;
  readonly help: string;
  readonly type = "histogram" as const;
  readonly aggregator = "sum";
  readonly #bounds: readonly number[];
  readonly #rows = new Map<string, Map<string, Row>>();
  readonly #native: boolean;

  /**
   * @param name Metric name.
   * @param help HELP text.
   * @param bounds Finite bucket upper bounds, ascending.
   * @param native Keep the sizes as a native histogram too.
   */
  constructor(name: string, help: string, bounds: readonly number[], native = false) {
    this.name = name;
    this.help = help;
    this.#bounds = bounds;
    this.#native = native;
  }

  /** Records one size. Synchronous, allocation-free once the row exists. */
  observe(method: string, route: string, bytes: number): void {
    let byMethod = this.#rows.get(route);
    if (byMethod === undefined) this.#rows.set(route, byMethod = new Map());
    let row = byMethod.get(method);
    if (row === undefined) {
      const buckets = new Float64Array(this.#bounds.length);
      const native = this.#native ? emptyNative() : undefined;
      row = { labels: { method, route }, count: 0, sum: 0, buckets, native };
      byMethod.set(method, row);
    }
    observeInto(row, bytes, this.#bounds);
  }

  /** Forgets every series. */
  reset(): void {
    this.#rows.clear();
  }

  *#each(): Generator<Row> {
    for (const byMethod of this.#rows.values()) yield* byMethod.values();
  }

  /** The descriptor and every series, encoded; a row is encoded again only when it changed. */
  encodeSnapshot(): { descriptor: MetricDescriptor; series: Array<[string, string]> } {
    const series: Array<[string, string]> = [];
    for (const row of this.#each()) {
      row.key ??= seriesKey(this.name, row.labels);
      if (row.encodedCount !== row.count) {
        row.encodedCount = row.count;
        row.encoded = encodeHistogram(row.sum, row.count, cumulativeOf(row), row.native);
      }
      series.push([row.key, row.encoded!]);
    }
    return { descriptor: { type: "histogram", help: this.help, buckets: [...this.#bounds] }, series };
  }

  /** prom-client's view of the histogram, for a plain registry's `metrics()`. */
  get(): Promise<{ name: string; help: string; type: string; values: Sample[]; aggregator: string }> {
    const name = this.name;
    const values: Sample[] = [];
    for (const row of this.#each()) pushHistogramSamples(values, name, { ...row.labels }, row, this.#bounds);
    return Promise.resolve({ name, help: this.help, type: "histogram", values, aggregator: this.aggregator });
  }
}
