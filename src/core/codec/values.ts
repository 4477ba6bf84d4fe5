/**
 * The compact encoding of one series' value, as stored:
 * counter and gauge `"12.5"`, a gauge that records when it was set `"12.5@1732460000000"`,
 * histogram `"sum|count|c1,c2,..."` (cumulative counts of the finite buckets), summary `"sum|count"`.
 * @module
 */
import type { MetricType } from "../storage.ts";

/** A decoded histogram value. */
export interface HistogramValue {
  /** Sum of observations. */
  sum: number;
  /** Number of observations (the `+Inf` bucket). */
  count: number;
  /** Cumulative counts of the finite buckets, in bucket order. */
  buckets: number[];
}

/** Encodes a histogram value. */
export function encodeHistogram(sum: number, count: number, buckets: readonly number[]): string {
  return `${sum}|${count}|${buckets.join(",")}`;
}

/** Decodes a histogram value, or returns undefined when it is corrupt. */
export function decodeHistogram(encoded: string, bucketCount: number): HistogramValue | undefined {
  const parts = encoded.split("|");
  if (parts.length !== 3) return undefined;
  const sum = Number(parts[0]);
  const count = Number(parts[1]);
  const buckets = parts[2] === "" ? [] : parts[2].split(",").map(Number);
  if (buckets.length !== bucketCount || !isCount(count) || Number.isNaN(sum)) return undefined;
  for (const b of buckets) if (!isCount(b)) return undefined;
  return { sum, count, buckets };
}

/**
 * Adds an encoded histogram into running totals without allocating (the collector's hot path).
 * Returns false, leaving the totals untouched, when the value is corrupt.
 */
export function addHistogram(encoded: string, into: { sum: number; count: number; buckets: Float64Array }): boolean {
  const bar1 = encoded.indexOf("|");
  const bar2 = bar1 === -1 ? -1 : encoded.indexOf("|", bar1 + 1);
  if (bar2 === -1) return false;
  const sum = parseNumber(encoded, 0, bar1);
  const count = parseNumber(encoded, bar1 + 1, bar2);
  if (Number.isNaN(sum) || !isCount(count)) return false;
  const n = into.buckets.length;
  const parsed = n <= SCRATCH.length ? SCRATCH : new Float64Array(n);
  let start = bar2 + 1;
  for (let i = 0; i < n; i++) {
    let end = encoded.indexOf(",", start);
    if (end === -1) end = encoded.length;
    if (end === start || (end === encoded.length) !== (i === n - 1)) return false;
    const value = parseNumber(encoded, start, end);
    if (!isCount(value)) return false;
    parsed[i] = value;
    start = end + 1;
  }
  if (n === 0 && encoded.length !== bar2 + 1) return false;
  for (let i = 0; i < n; i++) into.buckets[i] += parsed[i];
  into.sum += sum;
  into.count += count;
  return true;
}

const SCRATCH = new Float64Array(64);

/** `Number(text.slice(start, end))`, without the slice for plain whole numbers (most counts). */
function parseNumber(text: string, start: number, end: number): number {
  if (end - start > 0 && end - start < 16) {
    let value = 0;
    let i = start;
    for (; i < end; i++) {
      const digit = text.charCodeAt(i) - 48;
      if (digit < 0 || digit > 9) break;
      value = value * 10 + digit;
    }
    if (i === end) return value;
  }
  return start === end ? NaN : Number(text.slice(start, end));
}

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

function isCount(n: number): boolean {
  return n >= 0 && n !== Infinity;
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
  bucketCount: number,
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
  const x = decodeHistogram(a, bucketCount);
  const y = decodeHistogram(b, bucketCount);
  if (!x || !y) return undefined;
  return encodeHistogram(
    x.sum + sign * y.sum,
    x.count + sign * y.count,
    x.buckets.map((v, i) => v + sign * y.buckets[i]),
  );
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
