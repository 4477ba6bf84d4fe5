/**
 * Remote write 1.0: the process that serves the aggregate pushes it, on an interval, to a
 * Prometheus-compatible receiver (Prometheus with `--web.enable-remote-write-receiver`, Mimir,
 * Grafana Cloud), as a snappy-compressed protobuf `WriteRequest`. Each push is the whole aggregate
 * of that moment, so a push that fails loses nothing a later one does not carry: counters are
 * cumulative. What a failed push held is counted as dropped, and an outage is said once. Nothing
 * of this is loaded unless it is configured (snappyjs comes in at the first push).
 * @module
 */
import type { RemoteWriteOptions } from "../api/types.ts";
import { ms } from "../config/config.ts";
import { parseInteger } from "../env.ts";
import { ConfigError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { unrefIfPossible } from "../timers.ts";
import { Counter, type Registry } from "../values/metrics.ts";
import { parseExposition } from "./exposition.ts";
import { isValidLabelName } from "../codec/series_key.ts";
import { encodeWriteRequest, type WrittenSeries } from "./protobuf.ts";

/** Where and how often to push, resolved (see `remoteWrite` in the host options). */
export interface RemoteWriteSettings {
  readonly url: string;
  readonly token?: string;
  readonly username?: string;
  readonly password?: string;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  /** Added to every series; undefined for the default, `job` the exporter's namespace. */
  readonly labels?: ReadonlyArray<readonly [string, string]>;
}

/**
 * The most series in one request: a large aggregate goes as several (Prometheus' own sender sends
 * at most 2000 samples per request by default, and receivers cap a request's size).
 */
export const MAX_SERIES_PER_REQUEST = 2000;

/** Retries of one request after a 5xx, a 429 or no answer, waiting 250 ms, then twice as long each time. */
const RETRIES = 3;
const FIRST_RETRY_MS = 250;

/** A refusal the protocol says not to retry (a 4xx other than 429): the same request would fail again. */
class Refused extends Error {}

/** Pushes the aggregate `collect` renders, every `intervalMs`, until stopped. */
export class RemoteWriter {
  readonly #settings: RemoteWriteSettings;
  readonly #collect: () => Promise<string>;
  readonly #logger: Logger;
  readonly #pushes: Counter<"result">;
  readonly #dropped: Counter<string>;
  readonly #where: string;
  readonly #secrets: string[];
  #timer: ReturnType<typeof setInterval> | undefined;
  #failing = false;
  /** Whether this process serves the aggregate now (an isolate waiting for the metrics port does not). */
  readonly #serves: () => boolean;
  #inFlight: Promise<void> | undefined;
  /** The series the last push that landed carried, by their labels: one missing now gets a stale marker. */
  #carried = new Map<string, Array<[string, string]>>();
  readonly #labels: ReadonlyArray<readonly [string, string]>;
  #stopping = false;

  /**
   * @param settings Receiver, credentials, interval and timeout.
   * @param collect Renders the aggregate, in the text exposition.
   * @param logger Where an outage and its end are said.
   * @param registry Where its own counters go.
   * @param namespace The exporter's metric name prefix.
   * @param serves Whether this process serves the aggregate now: only then does it push.
   */
  constructor(
    settings: RemoteWriteSettings,
    collect: () => Promise<string>,
    logger: Logger,
    registry: Registry,
    namespace: string,
    serves: () => boolean = () => true,
  ) {
    this.#settings = settings;
    this.#labels = settings.labels ?? [["job", namespace]];
    this.#serves = serves;
    this.#collect = collect;
    this.#logger = logger;
    const url = new URL(settings.url);
    this.#where = `${url.protocol}//${url.host}${url.pathname}`;
    // A query string may hold a key (`?api_key=`): it is a secret too, and so is the URL that carries it.
    this.#secrets = [
      settings.token,
      settings.password,
      basic(settings),
      url.search.length > 1 ? settings.url : "",
      url.search.slice(1),
    ]
      .filter((s): s is string => !!s);
    const counter = <T extends string>(name: string, help: string, labelNames: T[]) =>
      (registry.getSingleMetric(name) as Counter<T> | undefined) ??
        new Counter({ name, help, labelNames, registers: [registry] });
    this.#pushes = counter(`${namespace}_exporter_remote_write_pushes_total`, "Remote write pushes, by result.", [
      "result",
    ]);
    this.#dropped = counter(
      `${namespace}_exporter_remote_write_dropped_samples_total`,
      "Samples of remote write pushes that failed (the next push that lands carries their counters' values).",
      [],
    );
  }

  /** Pushes now, then every interval. */
  start(): void {
    void this.push();
    this.#timer = setInterval(() => void this.push(), this.#settings.intervalMs);
    unrefIfPossible(this.#timer);
  }

  /**
   * Stops the interval, after a last push: a push under way retries no more, and the last one
   * sends each request once, all of them within the timeout.
   */
  async stop(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#stopping = true;
    await this.#inFlight;
    await this.push();
  }

  /** One push of the aggregate; never rejects. One at a time: a push under way is shared. */
  push(): Promise<void> {
    return this.#inFlight ??= this.#push().finally(() => (this.#inFlight = undefined));
  }

  async #push(): Promise<void> {
    if (!this.#serves()) return;
    let samples = 0;
    try {
      const now = Date.now();
      const series: WrittenSeries[] = parseExposition(await this.#collect()).map((s) => ({
        labels: this.#withLabels(s.labels),
        value: s.value,
        timestamp: now,
      }));
      // A series that ended (a process gone from a live gauge mode, a retired one's gauges) is
      // marked stale, as the protocol asks, so that queries stop showing its last value at once.
      const carried = new Map(series.map((s) => [JSON.stringify(s.labels), s.labels as Array<[string, string]>]));
      for (const [key, labels] of this.#carried) {
        if (!carried.has(key)) series.push({ labels, value: NaN, timestamp: now, stale: true });
      }
      samples = series.length;
      const { compress } = await import("snappyjs");
      // Retries end before the next push is due (that one carries every value again); the last
      // push ends within the timeout.
      const { intervalMs, timeoutMs } = this.#settings;
      const deadline = performance.now() + (this.#stopping ? timeoutMs : intervalMs);
      let refused: Refused | undefined;
      for (let start = 0; start < series.length; start += MAX_SERIES_PER_REQUEST) {
        const batch = series.slice(start, start + MAX_SERIES_PER_REQUEST);
        try {
          await this.#send(compress(encodeWriteRequest(batch)) as Uint8Array<ArrayBuffer>, deadline);
          samples -= batch.length;
        } catch (error) {
          // A request refused is that request's samples lost, not the others'; a receiver that
          // does not answer would not answer the next batches either.
          if (!(error instanceof Refused)) throw error;
          refused ??= error;
        }
      }
      if (refused !== undefined) throw refused;
      this.#carried = carried;
      this.#pushes.inc({ result: "ok" });
      if (this.#failing) {
        this.#failing = false;
        this.#logger.warn(`remote write to ${this.#where} delivers again`);
      }
    } catch (error) {
      this.#pushes.inc({ result: "failed" });
      this.#dropped.inc(samples);
      if (!this.#failing) {
        this.#failing = true;
        this.#logger.error(
          `remote write to ${this.#where} failed (${this.#scrub(String(error))}): pushed again every ` +
            `${this.#settings.intervalMs} ms; the next push that lands carries every counter's value`,
        );
      }
    }
  }

  /** Sends one request, retrying with backoff what the protocol says to retry, until `deadline`. */
  async #send(body: Uint8Array<ArrayBuffer>, deadline: number): Promise<void> {
    for (let attempt = 0;; attempt++) {
      try {
        const left = deadline - performance.now();
        if (left <= 0) throw new Error(`no time left for the request (${this.#settings.timeoutMs} ms at shutdown)`);
        const response = await fetch(this.#settings.url, {
          method: "POST",
          headers: this.#headers(),
          body,
          signal: AbortSignal.timeout(Math.min(this.#settings.timeoutMs, Math.ceil(left))),
        });
        if (response.ok) {
          await response.body?.cancel();
          return;
        }
        const text = (await response.text()).replace(/\s+/g, " ").slice(0, 200);
        const message = `answered ${response.status}${text ? `: ${text}` : ""}`;
        const retryable = response.status >= 500 || response.status === 429;
        throw retryable ? new Error(message) : new Refused(message);
      } catch (error) {
        const wait = FIRST_RETRY_MS * 2 ** attempt;
        const last = error instanceof Refused || this.#stopping || attempt >= RETRIES;
        if (last || performance.now() + wait >= deadline) throw error;
        await new Promise((resolve) => unrefIfPossible(setTimeout(resolve, wait)));
      }
    }
  }

  /** `labels` with this writer's labels added where the series has none of that name. */
  #withLabels(labels: ReadonlyArray<readonly [string, string]>): Array<[string, string]> {
    const out = labels as Array<[string, string]>;
    for (const [name, value] of this.#labels) {
      if (!out.some(([n]) => n === name)) out.push([name, value]);
    }
    return out;
  }

  #headers(): Record<string, string> {
    const headers: Record<string, string> = {
      "content-type": "application/x-protobuf",
      "content-encoding": "snappy",
      "x-prometheus-remote-write-version": "0.1.0",
      "user-agent": "hono-prometheus-exporter",
    };
    const { token } = this.#settings;
    const credentials = basic(this.#settings);
    if (token) headers.authorization = `Bearer ${token}`;
    else if (credentials) headers.authorization = `Basic ${credentials}`;
    return headers;
  }

  /** `text` without any credential of these settings in it. */
  #scrub(text: string): string {
    let out = text;
    for (const secret of this.#secrets) out = out.split(secret).join("[redacted]");
    return out;
  }
}

function basic(settings: RemoteWriteSettings): string | undefined {
  if (settings.username === undefined) return undefined;
  return btoa(`${settings.username}:${settings.password ?? ""}`);
}

/** Starts pushing what `exporter` collects, every interval. */
export function startPushing(
  settings: RemoteWriteSettings,
  exporter: {
    collect(): Promise<string>;
    readonly logger: Logger;
    readonly registry: Registry;
    readonly config: { readonly namespace: string; readonly metricsServer: boolean };
    readonly metricsServer: unknown;
  },
): RemoteWriter {
  // Where a metrics server is configured, the process that holds it pushes (under `deno serve
  // --parallel`, the isolate that took the port; another takes over with it); else this one.
  const writer = new RemoteWriter(
    settings,
    () => exporter.collect(),
    exporter.logger,
    exporter.registry,
    exporter.config.namespace,
    () => !exporter.config.metricsServer || exporter.metricsServer !== undefined,
  );
  writer.start();
  return writer;
}

/** The remote write settings of the options over the environment; undefined when none is set. */
export function resolveRemoteWrite(
  options: RemoteWriteOptions | false | undefined,
  env: (name: string) => string | undefined,
): RemoteWriteSettings | undefined {
  if (options === false) return undefined;
  const url = options?.url ?? env("PROMETHEUS_REMOTE_WRITE_URL");
  if (url === undefined || url === "") return undefined;
  const setting = options?.url === undefined ? "PROMETHEUS_REMOTE_WRITE_URL" : "remoteWrite.url";
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (parsed === undefined || (parsed.protocol !== "http:" && parsed.protocol !== "https:")) {
    throw new ConfigError(setting, "expected an http:// or https:// URL of a remote write receiver (…/api/v1/write)");
  }
  if (parsed.username !== "" || parsed.password !== "") {
    throw new ConfigError(setting, "holds credentials: give them as remoteWrite.username and .password (or a token)");
  }
  const seconds = (name: string, fallback: number) => {
    const raw = env(name);
    return raw === undefined || raw === "" ? fallback : parseInteger(name, raw, 1, 86_400) * 1000;
  };
  const token = options?.token ?? env("PROMETHEUS_REMOTE_WRITE_TOKEN");
  const username = options?.username ?? env("PROMETHEUS_REMOTE_WRITE_USERNAME");
  const password = options?.password ?? env("PROMETHEUS_REMOTE_WRITE_PASSWORD");
  if (token && username) {
    throw new ConfigError("remoteWrite.token", "and a username are both set: give a bearer token or basic auth");
  }
  return {
    url,
    labels: remoteWriteLabels(options?.labels, env("PROMETHEUS_REMOTE_WRITE_LABELS")),
    token: token || undefined,
    username: username || undefined,
    password: password || undefined,
    intervalMs: ms(
      "remoteWrite.intervalMs",
      options?.intervalMs,
      seconds("PROMETHEUS_REMOTE_WRITE_INTERVAL_SECONDS", 15_000),
      100,
      86_400_000,
    ),
    timeoutMs: ms(
      "remoteWrite.timeoutMs",
      options?.timeoutMs,
      seconds("PROMETHEUS_REMOTE_WRITE_TIMEOUT_SECONDS", 5_000),
      100,
      600_000,
    ),
  };
}

/** The labels option, or the environment's `name=value,…`, checked; undefined for the default. */
function remoteWriteLabels(
  option: Readonly<Record<string, string>> | undefined,
  raw: string | undefined,
): Array<[string, string]> | undefined {
  const setting = option !== undefined ? "remoteWrite.labels" : "PROMETHEUS_REMOTE_WRITE_LABELS";
  let pairs: Array<[string, unknown]>;
  if (option !== undefined) {
    if (typeof option !== "object" || option === null) {
      throw new ConfigError(setting, "expected an object of label name to value");
    }
    pairs = Object.entries(option);
  } else if (raw !== undefined && raw.trim() !== "") {
    pairs = raw.split(",").map((pair) => {
      const eq = pair.indexOf("=");
      if (eq === -1) {
        throw new ConfigError(setting, `expected name=value pairs separated by commas, got ${JSON.stringify(pair)}`);
      }
      return [pair.slice(0, eq).trim(), pair.slice(eq + 1).trim()];
    });
  } else return undefined;
  for (const [name, value] of pairs) {
    if (!isValidLabelName(name)) {
      throw new ConfigError(
        setting,
        `${JSON.stringify(name)} is not a label name: letters, digits and "_", not starting with a digit or "__"`,
      );
    }
    if (typeof value !== "string" || value === "") {
      throw new ConfigError(setting, `the label ${name} needs a value (a string, not empty)`);
    }
  }
  return pairs as Array<[string, string]>;
}
