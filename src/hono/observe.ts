/**
 * One observation into a histogram row of the request and size tables: count, sum, and the one
 * finite bucket it falls in (non-cumulative; the tables add them up when they encode).
 * @module
 */

/** A row's running totals. */
export interface HistogramRow {
  count: number;
  sum: number;
  /** Non-cumulative counts per finite bucket. */
  readonly buckets: Float64Array;
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
}
