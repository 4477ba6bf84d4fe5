/**
 * The histogram rows of the request and size tables: one observation into a row (count, sum, and
 * the one finite bucket it falls in, non-cumulative), and a row read back cumulatively, for the
 * publisher's encoding and for prom-client's view of the histogram.
 * @module
 */
import type { Sample } from "../core/publish/snapshot.ts";
import { type NativeBuckets, observeNative } from "../core/codec/native.ts";

/** A row's running totals. */
export interface HistogramRow {
  count: number;
  sum: number;
  /** Non-cumulative counts per finite bucket. */
  readonly buckets: Float64Array;
  /** The native histogram's buckets, when the table keeps them. */
  readonly native: NativeBuckets | undefined;
}

/** Adds `value` to `row`, with `bounds` the finite bucket upper bounds, ascending. */
export function observeInto(row: HistogramRow, value: number, bounds: readonly number[]): void {
  row.count++;
  row.sum += value;
  for (let i = 0; i < bounds.length; i++) {
    if (value <= bounds[i]) {
      row.buckets[i]++;
      break;
    }
  }
  if (row.native !== undefined) observeNative(row.native, value);
}

/** The row's finite buckets, cumulative. */
export function cumulativeOf(row: HistogramRow): number[] {
  const out: number[] = [];
  let running = 0;
  for (const c of row.buckets) out.push(running += c);
  return out;
}

/** Adds the row's `_bucket`, `_sum` and `_count` samples, as prom-client's `get()` gives them, to `values`. */
export function pushHistogramSamples(
  values: Sample[],
  name: string,
  labels: Record<string, string>,
  row: HistogramRow,
  bounds: readonly number[],
): void {
  const cumulative = cumulativeOf(row);
  bounds.forEach((le, i) =>
    values.push({ value: cumulative[i], labels: { ...labels, le }, metricName: `${name}_bucket` })
  );
  values.push({ value: row.count, labels: { ...labels, le: "+Inf" }, metricName: `${name}_bucket` });
  values.push({ value: row.sum, labels, metricName: `${name}_sum` });
  values.push({ value: row.count, labels, metricName: `${name}_count` });
}
