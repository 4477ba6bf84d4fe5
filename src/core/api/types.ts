/**
 * The public types, in one leaf module that imports nothing but other types: the option groups
 * each entry point composes its `createExporter` options from, the {@link Exporter} it returns,
 * and what the middleware, the handler, the hooks and `serve` take. An option an entry cannot
 * honour is not in its type; a JavaScript caller passing it gets a ConfigError that names it.
 * @module
 */
import type { Logger } from "../log.ts";
import type { FetchHandler, ServeOptions, ServerHandle } from "../runtime.ts";
import type { MultiprocessMode, Storage } from "../storage.ts";
import type { Registry } from "../values/metrics.ts";

export type { FetchHandler, ServeOptions, ServerHandle };

/**
 * A registry of another prom-client line (@prometheus-io/client, the successor): the same
 * methods, declared by that package's own types.
 */
export interface ForeignRegistry {
  /** Every metric registered. */
  getMetricsAsArray(): unknown[];
  /** Registers a metric object (a method: its parameter is compared both ways, so that package's type fits). */
  registerMetric(metric: never): void;
  /** The metric of that name, if registered. */
  getSingleMetric(name: string): unknown;
}

/**
 * The options every entry point's `createExporter` takes. Every duration is in milliseconds.
 * Settings with an `Env` name can come from that environment variable (on Workers, that binding)
 * instead; an option wins over it.
 */
export interface CommonOptions {
  /** Metric name prefix. Default `hono`. */
  readonly namespace?: string;
  /**
   * Registry holding the metrics to aggregate: prom-client's, or @prometheus-io/client's (its
   * `register` or a `new Registry()` of it). Default: prom-client's global registry.
   */
  readonly registry?: Registry | ForeignRegistry;
  /** Where values are published. Default: chosen from the environment where the entry reads one, else memory. */
  readonly storage?: Storage;
  /** Bearer token `/metrics` accepts. Env `PROMETHEUS_METRICS_TOKEN`. Never logged. */
  readonly metricsToken?: string;
  /** Basic-auth user name `/metrics` accepts (with `metricsPassword`). Env `PROMETHEUS_METRICS_USERNAME`. */
  readonly metricsUsername?: string;
  /** Basic-auth password (with `metricsUsername`). Env `PROMETHEUS_METRICS_PASSWORD`. Never logged. */
  readonly metricsPassword?: string;
  /**
   * Serve `/metrics` without credentials. Env `PROMETHEUS_METRICS_PUBLIC`. Default true on hosts,
   * false on Workers, where metrics are refused (403) until a token is set or this is true.
   */
  readonly publicMetrics?: boolean;
  /**
   * After each response, hand a coalesced publish to the request's `waitUntil` (or a timer where
   * there is none). Default true on Workers, false elsewhere, where the interval publishes.
   */
  readonly publishAfterResponse?: boolean;
  /** With `publishAfterResponse`: requests within this window share one publish. Default 1000. */
  readonly flushWindowMs?: number;
  /** Publish this process's values before each scrape it serves. Default true. */
  readonly publishOnScrape?: boolean;
  /**
   * Scrapes within this window of the last one share its publish and read: default 1000 where reads
   * cost requests (Upstash, Redis over TCP), 0 on the filesystem and memory, where only the scrapes
   * under way together share one.
   */
  readonly minScrapeIntervalMs?: number;
  /** After this long without a publish a process is no longer live. Default 3 publish intervals, at least 15000. */
  readonly staleAfterMs?: number;
  /** After this long without a publish a process is retired. Default 120000 (at least twice `staleAfterMs`). */
  readonly deadAfterMs?: number;
  /** Most series per metric. Default 10000. */
  readonly seriesLimit?: number;
  /** This process's `worker_id` label. Env `PROMETHEUS_WORKER_ID`; default from host and pid. */
  readonly workerId?: string;
  /** Mode of plain prom-client gauges, by metric name (the `Gauge` of this library takes `multiprocessMode`). */
  readonly gaugeModes?: Readonly<Record<string, MultiprocessMode>>;
  /**
   * Exemplars: the trace of a request (the trace and span ids of its W3C `traceparent` header)
   * attached to the request counter and the duration bucket it fell in; across processes the most
   * recent wins. Shown in OpenMetrics only (Prometheus asks for it). Env `PROMETHEUS_EXEMPLARS`;
   * default false.
   */
  readonly exemplars?: boolean;
  /**
   * Native histograms: sparse exponential buckets (schema 3, at most 160 buckets per series, the
   * resolution lowered beyond), kept beside the classic buckets and merged across processes,
   * served in the protobuf exposition when the scraper asks for it. `true` for every histogram
   * (the HTTP ones and the app's), or the names of the histograms that are. Env
   * `PROMETHEUS_NATIVE_HISTOGRAMS` (`true`, or names separated by commas); default false.
   */
  readonly nativeHistograms?: boolean | readonly string[];
  /** Lifecycle hook overrides. */
  readonly hooks?: Hooks;
  /** Where messages go. Default: console. */
  readonly logger?: Logger;
}

/** Where the runtime cannot run a metrics server (the root entry, Workers): only `false` is accepted. */
export interface NoServerOptions {
  /** No metrics server here; serve `metricsHandler` from the app. */
  readonly metricsServer?: false;
}

/** What an entry with timers between requests, and a shutdown, adds (the root entry and the hosts). */
export interface TimerOptions {
  /** How often the process publishes. Default 1000 with local storage (filesystem, memory), else 5000. */
  readonly publishIntervalMs?: number;
  /**
   * How long the last publish at shutdown keeps retrying a storage that fails or does not answer;
   * after it, what could not be delivered (series, requests) is said in one line. Default 10000.
   */
  readonly shutdownTimeoutMs?: number;
}

/**
 * Options of the root entry's `createExporter` (Web APIs only: the `storage` you give, else memory;
 * no metrics server, signals or process probe).
 */
export interface ExporterOptions extends CommonOptions, TimerOptions, NoServerOptions {}

/**
 * Every setting a process's exporter resolves, whichever entry made it: each entry point takes the
 * part it can honour (the core's own type; users see their entry's).
 */
export interface ProcessOptions extends CommonOptions, TimerOptions, Omit<HostOptions, "metricsServer"> {
  /** Whether `whenReady` starts the metrics server (hosts). */
  readonly metricsServer?: boolean;
}

/** What a host process (Node, Bun, Deno) adds: the metrics server, signals, the process probe, a configuration file. */
export interface HostOptions {
  /** Node, Bun, Deno: a YAML file in the Python original's shape (root key `exporter:`); variables win over it. Env `PROMETHEUS_CONFIG_FILE`. */
  readonly configFile?: string;
  /** Port of the metrics server. Env `PROMETHEUS_METRICS_PORT`; default 9091; 0 picks a free port. */
  readonly metricsPort?: number;
  /** Address the metrics server binds to. Env `PROMETHEUS_BIND_ADDRESS`; default `0.0.0.0`. */
  readonly bindAddress?: string;
  /** Whether `whenReady` starts the metrics server. Env `PROMETHEUS_METRICS_SERVER`; default true (false on Workers). */
  readonly metricsServer?: boolean;
  /**
   * Metrics server bind retries: attempts (default 5) and the first delay (default 500 ms, growing).
   * With `standbyMs`, a process that cannot bind keeps trying every `standbyMs` in the background,
   * so that it takes over when the holder (another isolate of the same app) goes away.
   */
  readonly serverRetry?: {
    /** Attempts in all. Default 5. */
    readonly attempts?: number;
    /** Delay after the first failure; the n-th waits n times as long. Default 500. */
    readonly initialDelayMs?: number;
    /** After the last attempt, keep trying this often in the background. Default: give up. */
    readonly standbyMs?: number;
  };
  /**
   * Push the aggregate to a remote write receiver (Prometheus with `--web.enable-remote-write-receiver`,
   * Mimir, Grafana Cloud), from the process that serves it: a single process, `supervise`'s primary,
   * the sidecar. Env `PROMETHEUS_REMOTE_WRITE_URL` and the rest; `false` turns it off.
   */
  readonly remoteWrite?: RemoteWriteOptions | false;
  /** HTTPS for the metrics server (hosts), field by field over `PROMETHEUS_SSL_*`. */
  readonly tls?: {
    /** Server certificate (PEM). Env `PROMETHEUS_SSL_CERTFILE`. */
    readonly certFile?: string;
    /** Its private key (PEM). Env `PROMETHEUS_SSL_KEYFILE`. */
    readonly keyFile?: string;
    /** CA certificates (PEM) that client certificates must be signed by. Env `PROMETHEUS_SSL_CLIENT_CAFILE`. */
    readonly clientCaFile?: string;
    /** A directory of such CA certificates. Env `PROMETHEUS_SSL_CLIENT_CAPATH`. */
    readonly clientCaPath?: string;
    /** Refuse clients without a valid certificate. Env `PROMETHEUS_SSL_CLIENT_AUTH_REQUIRED`; default false. */
    readonly clientAuthRequired?: boolean;
  };
  /** How often the worker gauges (memory, CPU, uptime) are sampled. Default 10000. */
  readonly workerMetricsIntervalMs?: number;
  /** Run `workerInt` and `onExit` on SIGINT/SIGTERM, then exit. Default true where the runtime has signals. */
  readonly handleSignals?: boolean;
}

/**
 * A Hono middleware or handler, as `app.use` and `app.get` take it. `c` is Hono's `Context`; it is
 * typed `unknown` here so that the type does not tie you to one Hono version's generics.
 */
export type Middleware = (c: unknown, next: () => Promise<void>) => Promise<Response | void>;

/** Options of `prometheus()` (the middleware) and `instrument()` (the app wrapper). */
export interface PrometheusOptions {
  /** The exporter whose registry and namespace the metrics go to. */
  readonly exporter: Exporter;
  /**
   * Names of the request counter and duration histogram. `"exporter"` (the default):
   * `<namespace>_worker_requests_total` and `<namespace>_worker_request_duration_seconds`, labelled
   * method, route, status. `"@hono/prometheus"`, the migration path from that middleware: its
   * `http_requests_total` and `http_request_duration_seconds`, labelled method, status, ok, route,
   * with its duration buckets, so that dashboards built on it keep working. The size, failure and
   * error metrics keep their names either way.
   */
  readonly naming?: HttpNaming;
  /** Request duration buckets, in seconds. */
  readonly durationBuckets?: readonly number[];
  /** Request and response size buckets, in bytes. */
  readonly sizeBuckets?: readonly number[];
  /** Add `worker_id` to the request counter. Default false. */
  readonly requestsByWorker?: boolean;
  /**
   * With `naming: "@hono/prometheus"`: prepended to its two names (`prefix: "myapp_"` gives
   * `myapp_http_requests_total`), as that middleware's own `prefix` does. With the default naming
   * the names follow the exporter's `namespace` instead.
   */
  readonly prefix?: string;
  /**
   * Labels added to the request counter and the duration histogram, each computed from the
   * request's Context once it was handled (`{ plan: (c) => c.get("plan") ?? "none" }`). A function
   * that throws gives "error"; a value is cut to 128 characters; past `customLabelLimit` distinct
   * values of one label, new ones are recorded as "other". The middleware only: `instrument`
   * records outside Hono's Context. `c` is Hono's `Context`, typed loosely here: annotate it
   * (`(c: Context) => ...`, `import type { Context } from "hono"`) for its types.
   */
  // `any`, so that the public types name none of Hono's (deno doc --lint refuses them).
  // deno-lint-ignore no-explicit-any
  readonly customLabels?: Readonly<Record<string, (c: any) => string>>;
  /** Distinct values kept per custom label; later new values are recorded as "other". Default 100. */
  readonly customLabelLimit?: number;
  /**
   * The exemplar of a request, computed from its Context once it was handled, in place of the
   * trace and span ids of its `traceparent` header: labels such as `{ trace_id: c.get("traceId") }`
   * (a label without a value is left out), or undefined for none. Turns exemplars on for these
   * metrics. Labels over the 128 characters OpenMetrics allows (names and values together), or
   * with a name that is not a label name, are left out and said once. The middleware only, as
   * `customLabels`.
   */
  // deno-lint-ignore no-explicit-any
  readonly exemplar?: (c: any) => Readonly<Record<string, string>> | undefined;
}

/** Where and how the aggregate is pushed with remote write 1.0 (see {@link HostOptions.remoteWrite}). */
export interface RemoteWriteOptions {
  /** The receiver, for example `https://prometheus.example/api/v1/write`. Env `PROMETHEUS_REMOTE_WRITE_URL`. */
  readonly url?: string;
  /** A bearer token. Env `PROMETHEUS_REMOTE_WRITE_TOKEN`. Never logged. */
  readonly token?: string;
  /** Basic-auth user. Env `PROMETHEUS_REMOTE_WRITE_USERNAME`. */
  readonly username?: string;
  /** Basic-auth password. Env `PROMETHEUS_REMOTE_WRITE_PASSWORD`. Never logged. */
  readonly password?: string;
  /** How often to push, in ms. Env `PROMETHEUS_REMOTE_WRITE_INTERVAL_SECONDS` (seconds); default 15000. */
  readonly intervalMs?: number;
  /** How long one push may take, in ms. Env `PROMETHEUS_REMOTE_WRITE_TIMEOUT_SECONDS` (seconds); default 5000. */
  readonly timeoutMs?: number;
  /**
   * Labels added to every series pushed (where the series has no label of that name), as a
   * Prometheus server's external labels are: they tell this app's series from another's in the
   * receiver. Env `PROMETHEUS_REMOTE_WRITE_LABELS` (`job=api,region=eu`); default `{ job: <namespace> }`.
   */
  readonly labels?: Readonly<Record<string, string>>;
}

/** How the request counter and duration histogram are named: see {@link PrometheusOptions.naming}. */
export type HttpNaming = "exporter" | "@hono/prometheus";

/** What a hook is told. */
export interface HookContext {
  /** The exporter the hook belongs to. */
  readonly exporter: Exporter;
  /** The worker slot, for `postFork`. */
  readonly workerId?: string;
  /** The signal that triggered `workerInt`. */
  readonly signal?: string;
  /** Runs the built-in behaviour of this hook, for an override that wants to keep it. */
  readonly runDefault: () => Promise<void>;
}

/**
 * Lifecycle hook overrides, named after gunicorn's. A hook that throws is logged and counted
 * (`<ns>_exporter_hook_errors_total`), never thrown to the app.
 */
export interface Hooks {
  /** Before the app starts: the worker state becomes `starting`. */
  readonly onStarting?: (context: HookContext) => void | Promise<void>;
  /** The app serves: publishing, sampling, the metrics server and signal handling start. */
  readonly whenReady?: (context: HookContext) => void | Promise<void>;
  /** In a new worker: `context.workerId` becomes its `worker_id`. */
  readonly postFork?: (context: HookContext) => void | Promise<void>;
  /** On SIGINT/SIGTERM (`context.signal`): state `quitting` (or `aborting`), then a publish. */
  readonly workerInt?: (context: HookContext) => void | Promise<void>;
  /** Last: timers and the server stop, everything is published, marked exited. */
  readonly onExit?: (context: HookContext) => void | Promise<void>;
}

/**
 * One process's (or isolate's) exporter: made by `createExporter` of any entry point. Creating it
 * starts nothing; `whenReady` starts publishing and the metrics server. On Workers it is inert
 * until the first request, whose bindings configure it.
 */
export interface Exporter {
  /** Registry holding the metrics. */
  readonly registry: Registry;
  /** This process's `worker_id` label (on Workers, read at the first request). */
  readonly workerId: string;
  /** The metrics server, once `whenReady` started it. */
  readonly metricsServer: ServerHandle | undefined;
  /** Whether `onExit` has run: the exporter no longer publishes. */
  readonly exited: boolean;
  /** Runs the `onStarting` hook: the worker state becomes `starting`. */
  onStarting(): Promise<void>;
  /**
   * Runs the `whenReady` hook: publishing on an interval, worker gauges, the metrics server,
   * signals. Once: later calls return the first call's promise.
   */
  whenReady(): Promise<void>;
  /** Runs the `postFork` hook in a new worker: `workerId` becomes its `worker_id`. */
  postFork(workerId: string): Promise<void>;
  /** Runs the `workerInt` hook: state `quitting` (or `aborting` on SIGABRT/SIGQUIT), then a publish. */
  workerInt(signal?: string): Promise<void>;
  /** Runs the `onExit` hook: stops timers and the server, and publishes everything, marked exited. */
  onExit(): Promise<void>;
  /** Publishes everything recorded so far. Rejects when storage fails (values stay pending). */
  flush(): Promise<void>;
  /** The publish of the current flush window: calls within one `flushWindowMs` share it. Never rejects. */
  flushSoon(): Promise<void>;
  /** The aggregate of every process, in the text format, from a fresh read of storage. */
  collect(format?: "prometheus" | "openmetrics"): Promise<string>;
  /** Answers a scrape request (credentials, content negotiation, 503 when storage cannot be read). */
  scrape(request: Request): Promise<Response>;
  /** A fetch handler: `GET /metrics` scrapes, anything else is 404. */
  readonly fetch: (request: Request) => Response | Promise<Response>;
}
