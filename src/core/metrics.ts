/**
 * The metric classes users declare, with prom-client's API. Counter, Histogram, Summary and
 * Registry are prom-client's own (no wrapper, so an increment costs what it costs in prom-client).
 * Gauge adds one option, `multiprocessMode`, and records when each series was set where the mode
 * needs it.
 * @module
 */
import client from "prom-client";
import { ConfigError } from "./errors.ts";
import { DEFAULT_GAUGE_MODE, type MultiprocessMode, needsTimestamp, parseMode } from "./modes.ts";
import { labelsPart, type LabelValues } from "./series.ts";

/** prom-client's Counter. */
export const Counter: typeof client.Counter = client.Counter;
/** prom-client's Counter. */
export type Counter<T extends string = string> = client.Counter<T>;
/** prom-client's Histogram. */
export const Histogram: typeof client.Histogram = client.Histogram;
/** prom-client's Histogram. */
export type Histogram<T extends string = string> = client.Histogram<T>;
/** prom-client's Summary. */
export const Summary: typeof client.Summary = client.Summary;
/** prom-client's Summary. */
export type Summary<T extends string = string> = client.Summary<T>;
/** prom-client's Registry. */
export const Registry: typeof client.Registry = client.Registry;
/** prom-client's Registry. */
export type Registry = client.Registry;
/** prom-client's default registry, where metrics declared without `registers` go. */
export const register: client.Registry = client.register;

/** Configuration of a {@link Gauge}: prom-client's, plus how it merges across processes. */
export interface GaugeConfiguration<T extends string> extends client.GaugeConfiguration<T> {
  /** How this gauge merges across processes. Default `all`. */
  multiprocessMode?: MultiprocessMode;
}

/**
 * prom-client's Gauge with a multiprocess mode.
 *
 * @example
 * ```ts
 * import { Gauge, Registry } from "hono-prometheus-exporter";
 * const registry = new Registry();
 * const queue = new Gauge({ name: "queue_depth", help: "Jobs waiting", registers: [registry], multiprocessMode: "livesum" });
 * queue.set(3);
 * ```
 */
export class Gauge<T extends string = string> extends client.Gauge<T> {
  /** How this gauge merges across processes. */
  readonly multiprocessMode: MultiprocessMode;
  /** When each series was last set, by series key; kept only in the `mostrecent` modes. */
  readonly setTimes: Map<string, number> | undefined;
  /** The metric name. */
  readonly metricName: string;

  /**
   * Declares a gauge.
   * @param configuration prom-client's gauge configuration and `multiprocessMode`.
   */
  constructor(configuration: GaugeConfiguration<T>) {
    const { multiprocessMode, ...rest } = configuration;
    super(rest);
    this.metricName = configuration.name;
    this.multiprocessMode = multiprocessMode === undefined
      ? DEFAULT_GAUGE_MODE
      : parseMode(multiprocessMode, `${configuration.name}: multiprocessMode`);
    this.setTimes = needsTimestamp(this.multiprocessMode) ? new Map() : undefined;
  }

  /** Sets the gauge. */
  override set(value: number): void;
  /** Sets the series with `labels`. */
  override set(labels: client.LabelValues<T>, value: number): void;
  override set(labels: client.LabelValues<T> | number, value?: number): void {
    if (typeof labels === "number") super.set(labels);
    else super.set(labels, value as number);
    stamp(this, labels);
  }

  /** Increments the gauge. */
  override inc(value?: number): void;
  /** Increments the series with `labels`. */
  override inc(labels: client.LabelValues<T>, value?: number): void;
  override inc(labels?: client.LabelValues<T> | number, value?: number): void {
    if (typeof labels === "object") super.inc(labels, value);
    else super.inc(labels);
    stamp(this, labels);
  }

  /** Decrements the gauge. */
  override dec(value?: number): void;
  /** Decrements the series with `labels`. */
  override dec(labels: client.LabelValues<T>, value?: number): void;
  override dec(labels?: client.LabelValues<T> | number, value?: number): void {
    if (typeof labels === "object") super.dec(labels, value);
    else super.dec(labels);
    stamp(this, labels);
  }
}

/**
 * The metric `config.name` already declared in `registry` by an earlier exporter of this process,
 * else a new one: a second exporter or middleware in one process or isolate must not throw
 * "already registered". A metric of that name of another kind is a ConfigError.
 */
export function declareOnce<M>(
  registry: Registry,
  kind: abstract new (...args: never[]) => M,
  config: { readonly name: string },
  create: () => M,
): M {
  const existing: unknown = registry.getSingleMetric(config.name);
  if (existing === undefined) return create();
  if (!(existing instanceof kind)) {
    throw new ConfigError(
      "namespace",
      `metric ${config.name} is already registered as another kind of metric; choose another namespace or registry`,
    );
  }
  return existing;
}

// A plain function, not a private method: prom-client's constructor may set values before the
// subclass's private members exist.
function stamp(gauge: { metricName: string; setTimes?: Map<string, number> }, labels: unknown): void {
  if (gauge.setTimes === undefined) return;
  const part = typeof labels === "object" && labels !== null ? labelsPart(labels as LabelValues) : "";
  gauge.setTimes.set(gauge.metricName + part, Date.now());
}
