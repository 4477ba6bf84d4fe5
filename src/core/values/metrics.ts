/**
 * The metric classes users declare, with prom-client's API. Counter, Histogram and Summary are
 * prom-client's own classes with a constructor that names a bad metric or label name (nothing
 * else is overridden, so an increment costs what it costs in prom-client); Registry is prom-client's.
 * Gauge adds one option, `multiprocessMode`, and records when each series was set where the mode
 * needs it.
 * @module
 */
import client from "prom-client";
import { ConfigError } from "../errors.ts";
import { DEFAULT_GAUGE_MODE, type MultiprocessMode, needsTimestamp, parseMode } from "./modes.ts";
import { isValidLabelName, isValidMetricName, labelsPart, type LabelValues } from "../codec/series_key.ts";

/**
 * Refuses a metric or label name that Prometheus would not accept, before prom-client does, with
 * a message that names it (prom-client says only "Invalid label name").
 */
function checkNames(kind: string, config: { name: string; labelNames?: readonly string[] }): void {
  if (typeof config.name !== "string" || !isValidMetricName(config.name)) {
    throw new ConfigError(
      `${kind} name`,
      `${
        JSON.stringify(config.name)
      } is not a valid metric name; use letters, digits, _ and : (not starting with a digit)`,
    );
  }
  for (const label of config.labelNames ?? []) {
    if (typeof label !== "string" || !isValidLabelName(label)) {
      throw new ConfigError(
        `${config.name} labelNames`,
        `${
          JSON.stringify(label)
        } is not a valid label name; use letters, digits and _ (not starting with a digit or __)`,
      );
    }
  }
}

/** prom-client's Counter; a bad metric or label name is a ConfigError that names it. */
export class Counter<T extends string = string> extends client.Counter<T> {
  /**
   * Declares a counter; a bad name is a ConfigError.
   * @param configuration prom-client's counter configuration.
   */
  constructor(configuration: client.CounterConfiguration<T>) {
    checkNames("Counter", configuration);
    super(configuration);
  }
}
/** prom-client's Histogram; a bad metric or label name is a ConfigError that names it. */
export class Histogram<T extends string = string> extends client.Histogram<T> {
  /**
   * Declares a histogram; a bad name is a ConfigError.
   * @param configuration prom-client's histogram configuration.
   */
  constructor(configuration: client.HistogramConfiguration<T>) {
    checkNames("Histogram", configuration);
    super(configuration);
  }
}
/** prom-client's Summary; a bad metric or label name is a ConfigError that names it. */
export class Summary<T extends string = string> extends client.Summary<T> {
  /**
   * Declares a summary; a bad name is a ConfigError.
   * @param configuration prom-client's summary configuration.
   */
  constructor(configuration: client.SummaryConfiguration<T>) {
    checkNames("Summary", configuration);
    super(configuration);
  }
}
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
    checkNames("Gauge", configuration);
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
