/**
 * The exporter ties one process together: the registry its metrics live in, the publisher that
 * sends them to storage, the collector that serves the aggregate, the worker gauges, the
 * lifecycle hooks and the metrics server. Adapters hand it a runtime; it never touches one itself.
 * @module
 */
import type { Registry } from "../values/metrics.ts";
import type { Collector } from "../collect/collector.ts";
import type { ResolvedConfig } from "../config/config.ts";
import { type Core, type ExporterParts, type InternalOptions, wire } from "./wiring.ts";
import { ConfigError, configErrorIn, describeError } from "../errors.ts";
import type { Exporter } from "../api/types.ts";
import { type Hook, type HookName, runHook } from "./hooks.ts";
import type { ProcessIdentity } from "../publish/identity.ts";
import { consoleLogger, type Logger } from "../log.ts";
import { register as defaultRegistry } from "../values/metrics.ts";
import type { Publisher } from "../publish/publisher.ts";
import { type ExpositionFormat, render } from "../render/render.ts";
import type { Runtime, ServerHandle } from "../runtime.ts";
import type { SelfMetrics } from "./self_metrics.ts";
import { plainAnswer } from "./scrape.ts";
import { finalPublish, onShutdownSignal } from "./shutdown.ts";
import { standBy, startServerWithRetry } from "../serve/bind_retry.ts";
import type { Storage } from "../storage.ts";
import { within } from "../serve/deadline.ts";
import { unrefIfPossible } from "../timers.ts";
import type { WorkerMetrics, WorkerState } from "./worker_metrics.ts";

export type { InternalOptions };

/**
 * One process's exporter, the implementation of {@link Exporter}. Create it with `createExporter`
 * from the main entry or an adapter. On edge runtimes it is inert until the first request: no
 * random values, timers or I/O at module scope, and the configuration comes from that request's
 * bindings (see {@link bind}).
 */
export class ProcessExporter implements Exporter {
  /** Registry holding the metrics. */
  readonly registry: Registry;
  /** Runtime adapter. */
  readonly runtime: Runtime;
  /** Where messages go. */
  readonly logger: Logger;
  readonly #options: InternalOptions;
  readonly #parts: ExporterParts;
  #core: Core | undefined;
  #coreError: unknown;
  #bound = false;
  #server: ServerHandle | undefined;
  #workerTimer: ReturnType<typeof setInterval> | undefined;
  #removeSignalListener: (() => void) | undefined;
  #started = false;
  #ready: Promise<void> | undefined;
  #copyCheck: ((registry: unknown) => string | undefined) | undefined;
  #exited = false;
  #pusher: { stop(): Promise<void> } | undefined;
  /** When a shutdown whose flush failed must be over (performance.now() time). */
  #shutdownBy: number | undefined;

  /**
   * Builds an exporter; `createExporter` from an entry point fills in the parts. On a host runtime
   * the configuration is validated here (a bad setting throws a ConfigError at once).
   * @param options Configuration and overrides.
   * @param parts Storage and runtime.
   */
  constructor(options: InternalOptions, parts: ExporterParts) {
    this.#options = options;
    this.#parts = parts;
    this.runtime = parts.runtime;
    // A registry of @prometheus-io/client has prom-client's methods, under its own types.
    this.registry = (options.registry ?? defaultRegistry) as Registry;
    this.logger = options.logger ?? consoleLogger;
    if (!parts.runtime.edge) this.#resolve();
  }

  /**
   * Gives an edge exporter the request's bindings (Hono's `c.env`), before its first use. The
   * middleware and `metricsHandler` call it; the first call wins. Elsewhere it does nothing.
   */
  bind(bindings: unknown): void {
    if (this.#bound) return;
    this.#bound = true;
    if (this.runtime.bindEnv === undefined) return;
    if (this.#core !== undefined) {
      this.logger.warn(
        "the exporter was configured before the first request's bindings arrived, so bindings are not read; " +
          "do not use the exporter at module scope on Workers",
      );
      return;
    }
    this.runtime.bindEnv(bindings);
  }

  /** Validated configuration. */
  get config(): ResolvedConfig {
    return this.#resolve().config;
  }
  /** Storage backend. */
  get storage(): Storage {
    return this.#resolve().storage;
  }
  /** This process's identity. */
  get identity(): ProcessIdentity {
    return this.#resolve().identity;
  }
  /** Sends this process's values to storage. */
  get publisher(): Publisher {
    return this.#resolve().publisher;
  }
  /** Serves the aggregate. */
  get collector(): Collector {
    return this.#resolve().collector;
  }
  /** This process's `worker_id` label. */
  get workerId(): string {
    return this.workerMetrics.workerId;
  }
  /** Memory, CPU, uptime and state gauges. */
  get workerMetrics(): WorkerMetrics {
    return this.#resolve().workerMetrics;
  }
  /** The exporter's own health metrics. */
  get selfMetrics(): SelfMetrics {
    return this.#resolve().selfMetrics;
  }

  #resolve(): Core {
    if (this.#core !== undefined) return this.#core;
    if (this.#coreError !== undefined) throw this.#coreError;
    try {
      return this.#core = wire(this.#options, this.#parts, this.registry, this.logger, () => this.#checkCopies());
    } catch (error) {
      this.#coreError = error;
      throw error;
    }
  }

  /** Whether `onExit` has run: the exporter no longer publishes. */
  get exited(): boolean {
    return this.#exited;
  }

  /** The metrics server, once `whenReady` has started it. */
  get metricsServer(): ServerHandle | undefined {
    return this.#server;
  }

  /** Runs the `onStarting` hook: the worker state becomes `starting`. */
  onStarting(): Promise<void> {
    this.#started = true;
    return this.#run("onStarting", {}, () => this.workerMetrics.setState("starting"));
  }

  /**
   * Runs the `whenReady` hook: starts publishing on an interval, samples the worker gauges on a
   * timer, serves the aggregate on the metrics server and handles shutdown signals.
   */
  whenReady(): Promise<void> {
    // Once: a second call (an app awaiting the start an adapter began) gets the same promise.
    return this.#ready ??= this.#whenReady();
  }

  async #whenReady(): Promise<void> {
    if (!this.#started) await this.onStarting();
    // A configuration that cannot work (a missing peer package, a file where the directory should
    // be) shows at the first publish: whenReady rejects with it, said once; a storage outage
    // never does (publishing goes on, with backoff).
    let fatal: ConfigError | undefined;
    await this.#run("whenReady", {}, async () => {
      this.workerMetrics.setState("running");
      this.#copyCheck = this.runtime.otherPromClient?.();
      this.#checkCopies();
      this.#startSampling();
      fatal = await this.publisher.publish().then(() => undefined, (error) => configErrorIn(error));
      if (fatal !== undefined) return;
      this.publisher.start(this.config.publishIntervalMs);
      this.#installSignalHandler();
      if (this.config.metricsServer) await this.startMetricsServer();
      this.#pusher = this.#options.push?.(this);
    });
    if (fatal !== undefined) throw fatal;
  }

  /** Runs the `postFork` hook in a new worker: `workerId` becomes its `worker_id`. */
  postFork(workerId: string): Promise<void> {
    return this.#run("postFork", { workerId }, () => {
      this.workerMetrics.workerId = workerId;
    });
  }

  /**
   * Runs the `workerInt` hook: state `quitting` (or `aborting` on SIGABRT/SIGQUIT), then a flush,
   * waited for up to half of `shutdownTimeoutMs`. When it fails, `onExit` gets what is left.
   */
  workerInt(signal = "SIGINT"): Promise<void> {
    return this.#run("workerInt", { signal }, async () => {
      this.workerMetrics.setState(signal === "SIGABRT" || signal === "SIGQUIT" ? "aborting" : "quitting");
      const timeoutMs = this.config.shutdownTimeoutMs;
      const started = performance.now();
      try {
        await within(this.flush(), timeoutMs / 2, () => new Error(`no answer within ${timeoutMs / 2} ms`));
        this.#shutdownBy = undefined;
      } catch {
        // The publisher said the outage once; the final publish is what counts.
        this.#shutdownBy = started + timeoutMs;
      }
    });
  }

  /** Runs the `onExit` hook: stops timers and the server, and publishes everything, marked exited. */
  onExit(): Promise<void> {
    return this.#run("onExit", {}, async () => {
      if (this.#exited) return;
      this.#exited = true;
      // The last push first: it publishes (not exited) as a scrape does, and the final publish after it wins.
      await this.#pusher?.stop();
      this.publisher.stop();
      if (this.#workerTimer !== undefined) clearInterval(this.#workerTimer);
      this.#removeSignalListener?.();
      const timeoutMs = this.config.shutdownTimeoutMs;
      await finalPublish(this.publisher, {
        // After a flush that failed, what is left of the deadline (at least half of it).
        timeoutMs: this.#shutdownBy === undefined
          ? timeoutMs
          : Math.max(timeoutMs / 2, this.#shutdownBy - performance.now()),
        kind: this.storage.kind,
        logger: this.logger,
        requestsMetric: `${this.config.namespace}_worker_requests_total`,
      });
      await this.#server?.close().catch(() => {});
      this.#server = undefined;
    });
  }

  /** Publishes everything recorded so far. Rejects when storage fails (values stay pending). */
  flush(): Promise<void> {
    return this.publisher.publish();
  }

  /**
   * The publish of the current flush window (`flushWindowMs`): every call within one window shares
   * one publish, started when the window closes. Never rejects. On Workers the middleware hands it
   * to the `waitUntil` of the request that opened the window; elsewhere call it where a timer may
   * not run (Deno Deploy).
   */
  flushSoon(): Promise<void> {
    return this.#resolve().flushWindow.request();
  }

  /** Renders the aggregate of every process in `format`, from a fresh read of storage. */
  async collect(format: ExpositionFormat = "prometheus"): Promise<string> {
    return render((await this.#resolve().scrape.collect()).families.values(), format);
  }

  // A second prom-client copy the app declares metrics with is said once: at the start, or at
  // the first scrape after its first metric (metrics are often declared after the exporter).
  #checkCopies(): void {
    if (this.#copyCheck === undefined) return;
    let warning: string | undefined;
    try {
      warning = this.#copyCheck(this.registry);
    } catch {
      this.#copyCheck = undefined; // a check that cannot tell stays quiet
    }
    if (warning === undefined) return;
    this.#copyCheck = undefined;
    this.logger.warn(warning);
  }

  /**
   * Answers a scrape: checks the token (before any storage read), then serves the aggregate in the
   * format the `Accept` header asks for before the scraper's deadline, or 503 with the reason (see
   * `scrape.ts`); a configuration error (on the edge, found at the first request) answers 500 with
   * its message.
   */
  scrape(request: Request): Promise<Response> {
    let core: Core;
    try {
      core = this.#resolve();
    } catch (error) {
      return Promise.resolve(plainAnswer(500, `metrics are not available: ${describeError(error)}`));
    }
    return core.scrape.answer(request);
  }

  /** The metrics server's handler: `GET /metrics` scrapes, anything else is 404. */
  readonly fetch = (request: Request): Promise<Response> | Response => {
    let pathname: string;
    try {
      ({ pathname } = new URL(request.url));
    } catch {
      // A server that hands on a request whose Host or target makes no URL: the client's fault.
      return plainAnswer(400, "Bad Request: the Host header or the request target makes no valid URL");
    }
    if (pathname !== "/metrics") return new Response("Not Found\n", { status: 404 });
    if (request.method !== "GET" && request.method !== "HEAD") {
      return new Response("Method Not Allowed\n", { status: 405, headers: { allow: "GET, HEAD" } });
    }
    return this.scrape(request);
  };

  /**
   * Starts the metrics server on the configured port and address, retrying a port conflict with a
   * growing delay; after the last attempt it logs one line and gives up without throwing.
   */
  async startMetricsServer(): Promise<ServerHandle | undefined> {
    if (this.#server !== undefined) return this.#server;
    const serve = this.runtime.serve;
    if (serve === undefined) {
      this.logger.warn(
        `the ${this.runtime.name} runtime cannot run a metrics server; serve /metrics from the app instead`,
      );
      return undefined;
    }
    const retry = this.#options.serverRetry;
    const standbyMs = retry?.standbyMs;
    const tls = this.#resolve().tls;
    this.#server = await startServerWithRetry(serve, this.fetch, {
      port: this.config.metricsPort,
      hostname: this.config.bindAddress,
      tls,
      attempts: retry?.attempts ?? 5,
      initialDelayMs: retry?.initialDelayMs ?? 500,
      logger: this.logger,
      quiet: standbyMs !== undefined,
    });
    if (this.#server === undefined && standbyMs !== undefined) {
      standBy(serve, this.fetch, {
        port: this.config.metricsPort,
        hostname: this.config.bindAddress,
        tls,
        everyMs: standbyMs,
        logger: this.logger,
        unrefTimer: this.runtime.unrefTimer,
        wanted: () => !this.#exited && this.#server === undefined,
        taken: (server) => (this.#server = server),
      });
    }
    return this.#server;
  }

  #startSampling(): void {
    this.workerMetrics.sample();
    if (this.#workerTimer !== undefined) return;
    this.#workerTimer = setInterval(() => this.workerMetrics.sample(), this.config.workerMetricsIntervalMs);
    (this.runtime.unrefTimer ?? unrefIfPossible)(this.#workerTimer);
  }

  #installSignalHandler(): void {
    const listen = this.runtime.onShutdownSignal;
    if (this.#options.handleSignals === false || listen === undefined || this.#removeSignalListener) return;
    this.#removeSignalListener = listen(onShutdownSignal(this, this.runtime));
  }

  #run(
    name: HookName,
    extra: { workerId?: string; signal?: string },
    builtIn: () => void | Promise<void>,
  ): Promise<void> {
    const override: Hook | undefined = this.#options.hooks?.[name];
    const runDefault = async () => {
      await builtIn();
    };
    const hook: Hook = override ?? runDefault;
    return runHook(
      name,
      hook,
      { exporter: this, ...extra, runDefault },
      this.logger,
      (n) => this.selfMetrics.hookErrors.inc({ hook: n }),
    ).then(() => {});
  }
}

export type { WorkerState };

/**
 * The implementation behind a public {@link Exporter}, for the middleware, the handler and the
 * adapters; a ConfigError for an object that `createExporter` did not make.
 */
export function internals(exporter: Exporter | undefined, usage?: string): ProcessExporter {
  if (exporter instanceof ProcessExporter) return exporter;
  if (exporter === undefined || exporter === null) {
    throw new ConfigError(
      "exporter",
      `is missing: create one with const exporter = createExporter()` + (usage ? ` and pass it: ${usage}` : ""),
    );
  }
  throw new ConfigError("exporter", "is not an exporter made by createExporter; pass the one createExporter returned");
}
