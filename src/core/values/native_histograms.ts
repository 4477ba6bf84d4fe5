/**
 * Native buckets for the app's prom-client (or `@prometheus-io/client`) histograms: the
 * histogram's `observe`, and that of each child from `labels(...)`, are wrapped to count every
 * observation into sparse buckets too, by series key; `reset`, `remove` and `zero` forget them. A
 * histogram is wrapped when the exporter is made (those already in its registry) or when it is
 * registered later, before it can observe anything. The snapshot adds a series' native buckets
 * to its value only while they hold exactly its count: the value of a series observed before the
 * wrap has none, and the merge places its observations from its classic buckets.
 * @module
 */
import { emptyNative, type NativeBuckets, nativeTotal, observeNative } from "../codec/native.ts";
import { type LabelValues, seriesKey } from "../codec/series_key.ts";

const NATIVE = Symbol("hono-prometheus-exporter.native");
const WRAPPED_REGISTRY = Symbol("hono-prometheus-exporter.native-registry");

type Fn = (...args: unknown[]) => unknown;

/** A histogram as this module wraps it. */
interface Wrappable {
  readonly name: string;
  readonly type?: string;
  readonly labelNames?: readonly string[];
  observe?: Fn;
  labels?: Fn;
  reset?: Fn;
  remove?: Fn;
  zero?: Fn;
  /** prom-client's exemplars are on: `observe` takes one object, `{ labels, value, exemplarLabels }`. */
  readonly enableExemplars?: boolean;
  [NATIVE]?: Map<string, NativeBuckets>;
}

/** A registry as this module sees it. */
interface RegistryLike {
  getMetricsAsArray(): unknown[];
  registerMetric: Fn;
  [WRAPPED_REGISTRY]?: (name: string) => boolean;
}

/**
 * Records native buckets for every histogram of `registry` that `selected` names, now and when
 * registered later. Called again for the same registry, the latest `selected` applies to new ones.
 */
export function recordNativeHistograms(registry: unknown, selected: (name: string) => boolean): void {
  const r = registry as RegistryLike;
  for (const metric of r.getMetricsAsArray()) wrapHistogram(metric, selected);
  const known = r[WRAPPED_REGISTRY] !== undefined;
  Object.defineProperty(r, WRAPPED_REGISTRY, { value: selected, configurable: true, writable: true });
  if (known) return;
  const register = r.registerMetric;
  r.registerMetric = function (this: unknown, metric: unknown, ...rest: unknown[]) {
    const result = register.call(this, metric, ...rest);
    wrapHistogram(metric, r[WRAPPED_REGISTRY]!);
    return result;
  };
}

/**
 * The native buckets of series `key` of `metric`, when it records them and they hold exactly
 * `count` observations; else undefined (the series is served classic only).
 */
export function nativeFor(metric: unknown, key: string, count: number): NativeBuckets | undefined {
  const series = (metric as Wrappable)[NATIVE];
  if (series === undefined) return undefined;
  const native = series.get(key);
  if (native === undefined) return count === 0 ? emptyNative() : undefined;
  return nativeTotal(native) === count ? native : undefined;
}

function wrapHistogram(metric: unknown, selected: (name: string) => boolean): void {
  const h = metric as Wrappable;
  // The package's own tables (`encodeSnapshot`) keep their native buckets themselves. A histogram
  // being registered from prom-client's constructor has no `type` or `observe` yet: `zero` tells
  // it from a summary.
  if (typeof h !== "object" || h === null) return;
  const constructing = h.type === undefined && typeof h.zero === "function";
  if (!constructing && (h.type !== "histogram" || typeof h.observe !== "function")) return;
  if (NATIVE in h || "encodeSnapshot" in h || !selected(h.name)) return;
  const series = new Map<string, NativeBuckets>();
  Object.defineProperty(h, NATIVE, { value: series, enumerable: false });
  const record = (labels: unknown, value: unknown) => {
    if (typeof value !== "number") return;
    const key = seriesKey(h.name, (labels ?? {}) as LabelValues);
    let native = series.get(key);
    if (native === undefined) series.set(key, native = emptyNative());
    observeNative(native, value);
  };
  // Positional label values, as `labels("GET", "/")` takes them, or one object of them.
  const labelValues = (args: unknown[]): unknown =>
    args.length === 1 && typeof args[0] === "object"
      ? args[0]
      : Object.fromEntries((h.labelNames ?? []).map((name, i) => [name, args[i]]));
  // prom-client's constructor sets its own `observe` after registering the histogram (with or
  // without exemplars): an accessor wraps whatever is set, then and later.
  const wrapObserve = (observe: Fn): Fn =>
    function (this: unknown, labels?: unknown, value?: unknown) {
      const result = observe.call(this, labels, value); // a bad label or value throws here, as before
      if (typeof labels === "number") record({}, labels);
      else if (h.enableExemplars === true && typeof labels === "object" && labels !== null) {
        // observe({ labels, value, exemplarLabels }), with prom-client's exemplars on.
        const o = labels as { labels?: unknown; value?: unknown };
        record(o.labels, o.value);
      } else record(labels, value);
      return result;
    };
  let observe = typeof h.observe === "function" ? wrapObserve(h.observe) : undefined;
  Object.defineProperty(h, "observe", {
    get: () => observe,
    set: (fn: Fn) => {
      observe = wrapObserve(fn);
    },
    configurable: true,
    enumerable: false,
  });
  const labels = h.labels;
  if (typeof labels === "function") {
    h.labels = function (this: unknown, ...args: unknown[]) {
      const child = labels.apply(this, args) as { observe?: Fn };
      const values = labelValues(args);
      const childObserve = child.observe;
      if (typeof childObserve === "function") {
        child.observe = (value: unknown) => {
          childObserve.call(child, value);
          record(values, value);
        };
      }
      return child;
    };
  }
  const reset = h.reset;
  if (typeof reset === "function") {
    h.reset = function (this: unknown, ...args: unknown[]) {
      series.clear();
      return reset.apply(this, args);
    };
  }
  // zero(labels) starts the series again at nothing: so do its native buckets.
  const zero = h.zero;
  if (typeof zero === "function") {
    h.zero = function (this: unknown, labels?: unknown) {
      const result = zero.call(this, labels);
      series.delete(seriesKey(h.name, (labels ?? {}) as LabelValues));
      return result;
    };
  }
  const remove = h.remove;
  if (typeof remove === "function") {
    h.remove = function (this: unknown, ...args: unknown[]) {
      const result = remove.apply(this, args);
      series.delete(seriesKey(h.name, labelValues(args) as LabelValues));
      return result;
    };
  }
}
