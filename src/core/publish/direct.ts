/**
 * Encodes prom-client counters and histograms from their own state, without `get()`: `get()` builds
 * an object per series (and per bucket of every histogram series), and the series key is rebuilt
 * from the labels on every publish. Here each series' key is built once and its encoded value is
 * reused while the series is unchanged, so a publish of 10 000 series allocates little more than
 * the values that changed. What is kept for a series hangs on prom-client's own object for it
 * (under a private symbol, not enumerable), so it goes when the series goes (`remove`, `reset`).
 * Only for the shape prom-client 15 has (checked on the first series) and without a `collect`
 * callback; anything else goes through `get()`.
 * @module
 */
import { seriesKey } from "../codec/series_key.ts";
import { encodeHistogram } from "../codec/values.ts";
import { nativeFor } from "../values/native_histograms.ts";
import type { MetricDescriptor } from "../storage.ts";

/** prom-client 15's own state of one series: `value` for counters, the rest for histograms. */
interface Entry {
  readonly labels: Record<string, string | number | undefined>;
  readonly value?: number;
  readonly bucketValues?: Record<string, number>;
  readonly sum?: number;
  readonly count?: number;
}

/** A prom-client metric as this module reads it. */
export interface DirectSource {
  readonly name: string;
  readonly type?: string;
  readonly help?: string;
  readonly collect?: unknown;
  readonly upperBounds?: readonly number[];
  readonly hashMap?: Record<string, Entry>;
}

/** What is remembered of one series between publishes. */
interface Cached {
  readonly key: string;
  /** The counter's value, or the histogram's count and sum, when `encoded` was made. */
  value: number;
  sum: number;
  encoded: string;
}

/**
 * Where each encoded series goes: the snapshot's series limiter. `anew` is true when the value
 * was encoded anew, from a count or sum that changed since the last encoding: the publisher then
 * sends it without comparing it with what storage has (which would almost always find it changed;
 * at worst, after a reset, a value storage already holds is sent again).
 */
export type Put = (key: string, value: string, anew: boolean) => void;

const CACHED = Symbol("hono-prometheus-exporter.encoded");

/** The series' cache, made with its key on first sight. */
function cachedOf(entry: Entry, name: string): Cached {
  const known = (entry as { [CACHED]?: Cached })[CACHED];
  if (known !== undefined) return known;
  const made: Cached = { key: seriesKey(name, entry.labels), value: NaN, sum: NaN, encoded: "" };
  Object.defineProperty(entry, CACHED, { value: made, writable: true, enumerable: false, configurable: true });
  return made;
}

/**
 * Encodes `metric` into `put` when it is a prom-client 15 counter or histogram; returns its
 * descriptor, or undefined (nothing encoded) when the metric must go through `get()`.
 */
export function encodeDirectly(metric: DirectSource, put: Put): MetricDescriptor | undefined {
  const map = metric.hashMap;
  if (metric.collect || typeof map !== "object" || map === null) return undefined;
  const histogram = metric.type === "histogram";
  if (!histogram && metric.type !== "counter") return undefined;
  const bounds = metric.upperBounds;
  if (histogram && bounds === undefined) return undefined;
  const encoded = histogram ? encodeHistograms(metric, map, bounds!, put) : encodeCounters(metric.name, map, put);
  if (!encoded) return undefined;
  return histogram
    ? { type: "histogram", help: metric.help ?? "", buckets: [...bounds!] }
    : { type: "counter", help: metric.help ?? "" };
}

/** Whether `e`, the first series, has the shape of prom-client 15 (then so do the others). */
function hasExpectedShape(e: Entry, histogram: boolean): boolean {
  if (typeof e !== "object" || e === null || typeof e.labels !== "object") return false;
  return histogram
    ? typeof e.bucketValues === "object" && typeof e.sum === "number" && typeof e.count === "number"
    : typeof e.value === "number";
}

function encodeCounters(name: string, map: Record<string, Entry>, put: Put): boolean {
  let first = true;
  for (const hash in map) {
    const entry = map[hash];
    if (first && !hasExpectedShape(entry, false)) return false;
    first = false;
    const value = entry.value!;
    const c = cachedOf(entry, name);
    const anew = c.value !== value;
    if (anew) {
      c.value = value;
      c.encoded = String(value);
    }
    put(c.key, c.encoded, anew);
  }
  return true;
}

function encodeHistograms(
  metric: DirectSource,
  map: Record<string, Entry>,
  bounds: readonly number[],
  put: Put,
): boolean {
  const name = metric.name;
  // Bucket counts are kept under each bound as a property name: convert the bounds once.
  const names = bounds.map(String);
  const cumulative = new Array<number>(bounds.length);
  let first = true;
  for (const hash in map) {
    const entry = map[hash];
    if (first && !hasExpectedShape(entry, true)) return false;
    first = false;
    const count = entry.count!;
    const sum = entry.sum!;
    const c = cachedOf(entry, name);
    // Every observation adds to the count: an unchanged count and sum is an unchanged series.
    const anew = c.value !== count || c.sum !== sum;
    if (anew) {
      const buckets = entry.bucketValues!;
      let running = 0;
      for (let i = 0; i < names.length; i++) cumulative[i] = running += buckets[names[i]] ?? 0;
      c.value = count;
      c.sum = sum;
      c.encoded = encodeHistogram(sum, count, cumulative, nativeFor(metric, c.key, count));
    }
    put(c.key, c.encoded, anew);
  }
  return true;
}
