/**
 * The HTTP metrics (docs/metrics.md: requests, duration, sizes, failures, error
 * handling), declared once per registry and namespace.
 * @module
 */
import type { Registry } from "../core/values/metrics.ts";
import { Counter, Histogram } from "../core/values/metrics.ts";
import { RequestTable } from "./request_table.ts";
import { SizeTable } from "./size_table.ts";
import type { EncodedMetric } from "../core/publish/snapshot.ts";
import type { HttpNaming } from "../core/api/types.ts";
import { recordingKey } from "./outermost.ts";
import { ConfigError } from "../core/errors.ts";

/** Default request duration buckets, in seconds. */
export const DEFAULT_DURATION_BUCKETS: readonly number[] = [
  0.001,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
];
/** @hono/prometheus's request duration buckets, in seconds (`naming: "@hono/prometheus"`). */
export const HONO_PROMETHEUS_DURATION_BUCKETS: readonly number[] = [
  0.005,
  0.01,
  0.025,
  0.05,
  0.075,
  0.1,
  0.25,
  0.5,
  0.75,
  1,
  2.5,
  5,
  7.5,
  10,
];
/** Default request and response size buckets, in bytes. */
export const DEFAULT_SIZE_BUCKETS: readonly number[] = [
  64,
  256,
  1024,
  4096,
  16384,
  65536,
  262144,
  1048576,
  4194304,
];

/** The HTTP metrics one middleware records into. */
export interface HttpMetrics {
  /** Request counter and duration histogram. */
  readonly requests: RequestTable;
  readonly requestSize: Histogram<string>;
  /** Recorded on (nearly) every request, so kept in a table like the requests (see `size_table.ts`). */
  readonly responseSize: SizeTable;
  readonly failed: Counter<string>;
  readonly errorHandling: Counter<string>;
  /** The property under which the outermost recorder marks a request it records into these metrics. */
  readonly recording: symbol;
}

/** Options that shape the HTTP metrics. */
export interface HttpMetricsOptions {
  /** Metric name prefix. */
  readonly namespace: string;
  /** Names of the request counter and histogram. Default `"exporter"`. */
  readonly naming?: HttpNaming;
  /** The `worker_id` label of the request counter, or undefined for none. */
  readonly workerId: () => string | undefined;
  /** Duration buckets, in seconds. */
  readonly durationBuckets?: readonly number[];
  /** Size buckets, in bytes. */
  readonly sizeBuckets?: readonly number[];
  /** Prepended to the names of naming "@hono/prometheus". */
  readonly prefix?: string;
  /** Names of the custom labels of the request counter and histogram. */
  readonly customLabels?: readonly string[];
  /** Keep exemplars of the request counter and histogram. */
  readonly exemplars?: boolean;
  /** Whether the histogram of this name is kept as a native histogram too. Default: none is. */
  readonly native?: (name: string) => boolean;
}

const declared = new WeakMap<Registry, Map<string, HttpMetrics>>();

/** Declares the HTTP metrics in `registry`, or returns those already declared there. */
export function httpMetrics(registry: Registry, options: HttpMetricsOptions): HttpMetrics {
  let byNamespace = declared.get(registry);
  if (byNamespace === undefined) declared.set(registry, byNamespace = new Map());
  const naming = options.naming ?? "exporter";
  const prefix = options.prefix ?? "";
  const key = `${options.namespace} ${naming} ${prefix}`;
  const custom = options.customLabels ?? [];
  const existing = byNamespace.get(key);
  if (existing !== undefined) {
    const had = existing.requests.customLabels;
    if (had.length !== custom.length || had.some((name, i) => name !== custom[i])) {
      throw new ConfigError(
        "customLabels",
        `${existing.requests.counter.name} is already recorded in this registry with the custom labels ` +
          `[${had.join(", ")}], not [${
            custom.join(", ")
          }]: give every middleware of one registry the same customLabels`,
      );
    }
    if (options.exemplars) existing.requests.keepExemplars();
    return existing;
  }
  const p = `${options.namespace}_worker_`;
  const registers = [registry];
  const route = ["method", "route"];
  const honoPrometheus = naming === "@hono/prometheus";
  const histogramName = honoPrometheus ? `${prefix}http_request_duration_seconds` : `${p}request_duration_seconds`;
  const native = options.native ?? (() => false);
  const metrics: HttpMetrics = {
    requests: new RequestTable({
      counterName: honoPrometheus ? `${prefix}http_requests_total` : `${p}requests_total`,
      histogramName,
      bounds: [
        ...(options.durationBuckets ?? (honoPrometheus ? HONO_PROMETHEUS_DURATION_BUCKETS : DEFAULT_DURATION_BUCKETS)),
      ],
      okLabel: honoPrometheus,
      workerId: options.workerId,
      customLabels: custom,
      exemplars: options.exemplars,
      native: native(histogramName),
    }),
    requestSize: new Histogram({
      name: `${p}request_size_bytes`,
      help: "Size of HTTP request bodies whose length is known, in bytes.",
      labelNames: route,
      buckets: [...(options.sizeBuckets ?? DEFAULT_SIZE_BUCKETS)],
      registers,
    }),
    responseSize: new SizeTable(
      `${p}response_size_bytes`,
      "Size of HTTP response bodies whose length is known, in bytes.",
      [...(options.sizeBuckets ?? DEFAULT_SIZE_BUCKETS)],
      native(`${p}response_size_bytes`),
    ),
    failed: new Counter({
      name: `${p}failed_requests_total`,
      help: "HTTP requests whose handler threw or whose status was 5xx, by error type.",
      labelNames: [...route, "error_type"],
      registers,
    }),
    errorHandling: new Counter({
      name: `${p}error_handling_total`,
      help: "Errors that reached the error handler, by error type.",
      labelNames: [...route, "error_type"],
      registers,
    }),
    recording: recordingKey(),
  };
  for (const metric of [metrics.requests.counter, metrics.requests.histogram, metrics.responseSize]) {
    register(registry, metric);
  }
  byNamespace.set(key, metrics);
  return metrics;
}

/** prom-client registries hold any object with its metric shape; these render like the rest. */
function register(registry: Registry, metric: EncodedMetric): void {
  registry.registerMetric(metric as unknown as Parameters<Registry["registerMetric"]>[0]);
}
