/**
 * The compact encoding of one series' value, as stored:
 * counter and gauge `"12.5"`, a gauge that records when it was set `"12.5@1732460000000"`,
 * histogram `"sum|count|c1,c2,..."` (cumulative counts of the finite buckets), with `"|<native buckets>"`
 * after them when the series is a native histogram too (see `native_text.ts`), summary `"sum|count"`.
 * @module
 */
import type { MetricType } from "../storage.ts";
import {
  addNative,
  emptyNative,
  fitBudget,
  isCount,
  type NativeBuckets,
  nativeOfClassic,
  nativeTotal,
} from "./native.ts";
import { decodeNative, encodeNative, type NativeReader } from "./native_text.ts";
import { readNumber } from "./numbers.ts";

/** A decoded histogram value. */
export interface HistogramValue {
  /** Sum of observations. */
  sum: number;
  /** Number of observations (the `+Inf` bucket). */
  count: number;
  /** Cumulative counts of the finite buckets, in bucket order. */
  buckets: number[];
  /** The native histogram's buckets, when the series is one. */
  native?: NativeBuckets;
}

/** Encodes a histogram value, with its native buckets when it has them. */
export function encodeHistogram(
  sum: number,
  count: number,
  buckets: readonly number[],
  native?: NativeBuckets,
): string {
  const classic = `${sum}|${count}|${buckets.join(",")}`;
  return native === undefined ? classic : `${classic}|${encodeNative(native)}`;
}

/** Decodes a histogram value, or returns undefined when it is corrupt. */
export function decodeHistogram(encoded: string, bucketCount: number): HistogramValue | undefined {
  const parts = encoded.split("|");
  if (parts.length !== 3 && parts.length !== 4) return undefined;
  const sum = Number(parts[0]);
  const count = Number(parts[1]);
  const buckets = parts[2] === "" ? [] : parts[2].split(",").map(Number);
  if (buckets.length !== bucketCount || !isCount(count) || Number.isNaN(sum)) return undefined;
  for (const b of buckets) if (!isCount(b)) return undefined;
  if (parts.length === 3) return { sum, count, buckets };
  const native = decodeNative(parts[3]);
  return native === undefined ? undefined : { sum, count, buckets, native };
}

/** Running totals of histograms, as the merge keeps them. */
export interface HistogramTotals {
  /** Sum of observations. */
  sum: number;
  /** Number of observations. */
  count: number;
  /** Cumulative finite bucket counts. */
  buckets: Float64Array;
  /** The native buckets of the values that had them, summed; undefined while none had. */
  native?: NativeBuckets;
  /**
   * The count and cumulative buckets of the values that had native buckets: the rest of the
   * totals joins the native buckets from its classic ones ({@link completeNative}).
   */
  nativeClassic?: { count: number; buckets: Float64Array };
}

/**
 * Adds an encoded histogram into running totals without allocating for a classic one (the
 * collector's hot path); `reader` reads native buckets. Returns false, leaving the totals
 * untouched, when the value is corrupt.
 */
export function addHistogram(encoded: string, into: HistogramTotals, reader: NativeReader): boolean {
  const bar1 = encoded.indexOf("|");
  const bar2 = bar1 === -1 ? -1 : encoded.indexOf("|", bar1 + 1);
  if (bar2 === -1) return false;
  const sum = readNumber(encoded, 0, bar1);
  const count = readNumber(encoded, bar1 + 1, bar2);
  if (Number.isNaN(sum) || !isCount(count)) return false;
  const n = into.buckets.length;
  const parsed = n <= SCRATCH.length ? SCRATCH : new Float64Array(n);
  let start = bar2 + 1;
  // The classic part ends at the end, or at the bar before the native buckets.
  const bar3 = encoded.indexOf("|", bar2 + 1);
  const classicEnd = bar3 === -1 ? encoded.length : bar3;
  for (let i = 0; i < n; i++) {
    let end = encoded.indexOf(",", start);
    if (end === -1 || end > classicEnd) end = classicEnd;
    if (end === start || (end === classicEnd) !== (i === n - 1)) return false;
    const value = readNumber(encoded, start, end);
    if (!isCount(value)) return false;
    parsed[i] = value;
    start = end + 1;
  }
  if (n === 0 && classicEnd !== bar2 + 1) return false;
  if (bar3 !== -1 && !reader.read(encoded, bar3 + 1)) return false;
  for (let i = 0; i < n; i++) into.buckets[i] += parsed[i];
  into.sum += sum;
  into.count += count;
  // Native buckets that do not hold the count (written by hand?) are read as none: the count wins.
  if (bar3 === -1 || reader.total !== count) return true;
  if (into.native === undefined) {
    into.native = emptyNative(reader.schema);
    into.nativeClassic = { count: 0, buckets: new Float64Array(n) };
  }
  reader.addTo(into.native);
  const classic = into.nativeClassic!;
  classic.count += count;
  for (let i = 0; i < n; i++) classic.buckets[i] += parsed[i];
  return true;
}

/**
 * Where some values of a series had native buckets: places the observations of those that had
 * none in native buckets from their classic ones (see {@link nativeOfClassic}), so that the
 * native buckets hold the whole count, then keeps them within the bucket budget.
 */
export function completeNative(totals: HistogramTotals, bounds: readonly number[]): void {
  const { native, nativeClassic } = totals;
  if (native === undefined || nativeClassic === undefined) return;
  const rest = totals.count - nativeClassic.count;
  if (rest > 0) {
    const buckets = totals.buckets.map((c, i) => c - nativeClassic.buckets[i]);
    addNative(native, nativeOfClassic(bounds, buckets, rest, native.schema));
  }
  fitBudget(native);
}

const SCRATCH = new Float64Array(64);

/** Encodes a summary value (its sum and count; quantiles cannot be merged exactly). */
export function encodeSummary(sum: number, count: number): string {
  return `${sum}|${count}`;
}

/** Decodes a summary value, or returns undefined when it is corrupt. */
export function decodeSummary(encoded: string): { sum: number; count: number } | undefined {
  const bar = encoded.indexOf("|");
  if (bar === -1) return undefined;
  const sum = Number(encoded.slice(0, bar));
  const count = Number(encoded.slice(bar + 1));
  return Number.isNaN(sum) || !isCount(count) ? undefined : { sum, count };
}

/** Encodes a gauge value, with the time it was set when the gauge's mode needs it. */
export function encodeGauge(value: number, setAt?: number): string {
  return setAt === undefined ? String(value) : `${value}@${setAt}`;
}

/** Decodes a gauge value; `setAt` is 0 when none was stored. Undefined when corrupt. */
export function decodeGauge(encoded: string): { value: number; setAt: number } | undefined {
  const at = encoded.indexOf("@");
  const value = Number(at === -1 ? encoded : encoded.slice(0, at));
  const setAt = at === -1 ? 0 : Number(encoded.slice(at + 1));
  if (Number.isNaN(setAt) || (Number.isNaN(value) && !/NaN/.test(encoded))) return undefined;
  return { value, setAt };
}

/** Decodes a counter value, or returns undefined when it is corrupt. */
export function decodeCounter(encoded: string): number | undefined {
  const value = Number(encoded);
  return encoded === "" || Number.isNaN(value) ? undefined : value;
}

/** Whether an encoded value of a summing type reads: what {@link combine} asks of each side. */
export function decodes(type: Exclude<MetricType, "gauge">, encoded: string, bucketCount: number): boolean {
  if (type === "counter") return decodeCounter(encoded) !== undefined;
  if (type === "summary") return decodeSummary(encoded) !== undefined;
  return decodeHistogram(encoded, bucketCount) !== undefined;
}

/**
 * Combines two encoded values of a summing type: `a + sign * b`, component by component.
 * Used to fold a retired process into the total (+1) and to take a baseline off (-1).
 * Returns undefined when either side is corrupt.
 */
export function combine(
  type: Exclude<MetricType, "gauge">,
  a: string,
  b: string,
  sign: 1 | -1,
  bounds: readonly number[],
): string | undefined {
  if (type === "counter") {
    const x = decodeCounter(a);
    const y = decodeCounter(b);
    return x === undefined || y === undefined ? undefined : String(x + sign * y);
  }
  if (type === "summary") {
    const x = decodeSummary(a);
    const y = decodeSummary(b);
    if (!x || !y) return undefined;
    return encodeSummary(x.sum + sign * y.sum, x.count + sign * y.count);
  }
  const x = decodeHistogram(a, bounds.length);
  const y = decodeHistogram(b, bounds.length);
  if (!x || !y) return undefined;
  return encodeHistogram(
    x.sum + sign * y.sum,
    x.count + sign * y.count,
    x.buckets.map((v, i) => v + sign * y.buckets[i]),
    combinedNative(x, y, sign, bounds),
  );
}

/**
 * The native buckets of `x + sign * y`, where either side has them: the other side's placed from
 * its classic buckets; undefined where neither has them, or where the difference would fall below
 * zero in a bucket (the value is then classic, and the merge places it).
 */
function combinedNative(
  x: HistogramValue,
  y: HistogramValue,
  sign: 1 | -1,
  bounds: readonly number[],
): NativeBuckets | undefined {
  // Native buckets that do not hold their value's count are read as none, as the merge does.
  const valid = (v: HistogramValue) => v.native !== undefined && nativeTotal(v.native) === v.count;
  if (!valid(x) && !valid(y)) return undefined;
  const schema = Math.min(valid(x) ? x.native!.schema : Infinity, valid(y) ? y.native!.schema : Infinity);
  const nativeOf = (v: HistogramValue) => valid(v) ? v.native! : nativeOfClassic(bounds, v.buckets, v.count, schema);
  const total = nativeOf(x); // decoded here: changing it in place is safe
  if (!addNative(total, nativeOf(y), sign)) return undefined;
  fitBudget(total);
  return total;
}

/**
 * The prefix of the families that carry exemplars from the processes to the merge:
 * `__exemplars:<family>{<labels>}` (a bucket's with `__bucket="<index>"`), never rendered as such.
 */
export const EXEMPLARS = "__exemplars:";

/** Encodes an exemplar: its value, when it was observed (ms), and its labels part without braces. */
export function encodeExemplar(value: number, at: number, labels: string): string {
  return `${value}@${at}#${labels}`;
}

/** Decodes an exemplar; undefined when corrupt. */
export function decodeExemplar(encoded: string): { value: number; at: number; labels: string } | undefined {
  const at = encoded.indexOf("@");
  const hash = encoded.indexOf("#", at);
  if (at === -1 || hash === -1) return undefined;
  const value = Number(encoded.slice(0, at));
  const time = Number(encoded.slice(at + 1, hash));
  if (Number.isNaN(value) || !Number.isFinite(time)) return undefined;
  return { value, at: time, labels: encoded.slice(hash + 1) };
}
