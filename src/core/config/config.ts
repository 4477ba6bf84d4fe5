/**
 * Configuration: programmatic options first, then the environment variables the Python original
 * named, then defaults. Everything is validated here, once, at start-up.
 * @module
 */
import { type EnvSource, parseBoolean, parseInteger, parsePort, readEnv } from "../env.ts";
import { ConfigError } from "../errors.ts";
import type { ProcessOptions as ExporterOptions } from "../api/types.ts";
import type { TlsFiles } from "../runtime.ts";
import { type MultiprocessMode, parseMode } from "../values/modes.ts";
import { isValidMetricName } from "../codec/series_key.ts";

/** The options this module resolves (the rest of the exporter's options are parts, not settings). */
type ConfigOptions = Pick<ExporterOptions, ConfigKey | Secret | "workerId" | "tls">;

/** HTTPS for the metrics server: files, as paths. */
export type TlsOptions = NonNullable<ExporterOptions["tls"]>;

/** The settings of a resolved configuration that always have a value. */
type ConfigKey =
  | "namespace"
  | "metricsPort"
  | "bindAddress"
  | "metricsServer"
  | "publishIntervalMs"
  | "workerMetricsIntervalMs"
  | "staleAfterMs"
  | "deadAfterMs"
  | "seriesLimit"
  | "gaugeModes"
  | "publishAfterResponse"
  | "flushWindowMs"
  | "minScrapeIntervalMs"
  | "shutdownTimeoutMs"
  | "publicMetrics"
  | "exemplars"
  | "nativeHistograms";

/** What a runtime changes in the defaults. */
export interface ConfigDefaults {
  /** An edge isolate: publish after responses, lock `/metrics` unless a token or public is set. */
  readonly edge?: boolean;
  /** Publishing is a local write (filesystem, memory): publish every second, not every five. */
  readonly localStorage?: boolean;
}

/** Configuration after defaults and validation: every setting present, `workerId` possibly unset. */
export type ResolvedConfig =
  & {
    readonly [K in ConfigKey]-?: NonNullable<ExporterOptions[K]>;
  }
  & {
    /** This process's `worker_id` label, when one was configured. */
    readonly workerId: string | undefined;
    /** HTTPS for the metrics server, when configured. */
    readonly tls: TlsFiles | undefined;
  };

/** Options that hold secrets: never part of the resolved configuration (which may be logged). */
type Secret = "metricsToken" | "metricsUsername" | "metricsPassword";

const DAY_MS = 86_400_000;

/**
 * Resolves options against the environment and validates the result. The metrics token is not
 * part of the result (see `metricsLock`), so that printing a configuration never shows it.
 */
export function resolveConfig(options: ConfigOptions, env: EnvSource, defaults: ConfigDefaults = {}): ResolvedConfig {
  const edge = defaults.edge ?? false;
  const namespace = options.namespace ?? "hono";
  if (!isValidMetricName(namespace) || namespace.includes(":")) {
    throw new ConfigError(
      "namespace",
      `${
        JSON.stringify(namespace)
      } is not a valid metric name prefix; use letters, digits and _ (not starting with a digit)`,
    );
  }
  // A SIGKILL loses what a process recorded since its last publish: on one host that costs a
  // local write, so the window is one second; over the network, five.
  const defaultInterval = defaults.localStorage ? 1000 : 5000;
  const publishIntervalMs = ms("publishIntervalMs", options.publishIntervalMs, defaultInterval, 10, DAY_MS);
  const staleAfterMs = ms("staleAfterMs", options.staleAfterMs, Math.max(3 * publishIntervalMs, 15_000), 1, DAY_MS);
  const deadAfterMs = ms("deadAfterMs", options.deadAfterMs, Math.max(120_000, 2 * staleAfterMs), 1, 30 * DAY_MS);
  if (deadAfterMs < staleAfterMs) {
    throw new ConfigError("deadAfterMs", `must be at least staleAfterMs (${staleAfterMs}), got ${deadAfterMs}`);
  }
  const workerId = options.workerId ?? env("PROMETHEUS_WORKER_ID");
  if (workerId !== undefined && (workerId === "" || workerId.length > 128)) {
    throw new ConfigError(
      options.workerId === undefined ? "PROMETHEUS_WORKER_ID" : "workerId",
      "must be 1 to 128 characters",
    );
  }
  const gaugeModes: Record<string, MultiprocessMode> = {};
  for (const [name, mode] of Object.entries(options.gaugeModes ?? {})) {
    if (!isValidMetricName(name)) throw new ConfigError(`gaugeModes.${name}`, "is not a valid metric name");
    gaugeModes[name] = parseMode(mode, `gaugeModes.${name}`);
  }
  const bindAddress = options.bindAddress ?? env("PROMETHEUS_BIND_ADDRESS") ?? "0.0.0.0";
  if (bindAddress.trim() === "" || /\s/.test(bindAddress)) {
    throw new ConfigError(
      options.bindAddress === undefined ? "PROMETHEUS_BIND_ADDRESS" : "bindAddress",
      `expected a host name or IP address, got ${JSON.stringify(bindAddress)}`,
    );
  }
  return {
    namespace,
    metricsPort: options.metricsPort !== undefined
      ? parsePort("metricsPort", String(options.metricsPort))
      : readEnv(env, "PROMETHEUS_METRICS_PORT", parsePort) ?? 9091,
    bindAddress,
    metricsServer: options.metricsServer ?? readEnv(env, "PROMETHEUS_METRICS_SERVER", parseBoolean) ?? true,
    publishIntervalMs,
    workerMetricsIntervalMs: ms("workerMetricsIntervalMs", options.workerMetricsIntervalMs, 10_000, 10, DAY_MS),
    staleAfterMs,
    deadAfterMs,
    seriesLimit: options.seriesLimit === undefined
      ? 10_000
      : parseInteger("seriesLimit", String(options.seriesLimit), 1, 10_000_000),
    workerId,
    gaugeModes,
    publishAfterResponse: options.publishAfterResponse ?? edge,
    flushWindowMs: ms("flushWindowMs", options.flushWindowMs, 1000, 0, 60_000),
    // Reads that cost money (Upstash, Redis) are shared within a second; local reads only among
    // the scrapes under way together, so that every scrape by hand is exact.
    minScrapeIntervalMs: ms(
      "minScrapeIntervalMs",
      options.minScrapeIntervalMs,
      defaults.localStorage ? 0 : 1000,
      0,
      3_600_000,
    ),
    shutdownTimeoutMs: ms("shutdownTimeoutMs", options.shutdownTimeoutMs, 10_000, 1, 600_000),
    publicMetrics: options.publicMetrics ?? readEnv(env, "PROMETHEUS_METRICS_PUBLIC", parseBoolean) ?? !edge,
    exemplars: options.exemplars ?? readEnv(env, "PROMETHEUS_EXEMPLARS", parseBoolean) ?? false,
    nativeHistograms: options.nativeHistograms !== undefined
      ? nativeHistogramsOf("nativeHistograms", options.nativeHistograms)
      : readEnv(env, "PROMETHEUS_NATIVE_HISTOGRAMS", parseNativeHistograms) ?? false,
    tls: resolveTls(options.tls ?? {}, env),
  };
}

/** `PROMETHEUS_NATIVE_HISTOGRAMS`: a boolean, or histogram names separated by commas. */
function parseNativeHistograms(setting: string, raw: string): boolean | string[] {
  if (/^\s*(true|1|yes|on|false|0|no|off)\s*$/i.test(raw)) return parseBoolean(setting, raw);
  return nativeHistogramsOf(setting, raw.split(",").map((name) => name.trim()).filter((name) => name !== ""));
}

/** `nativeHistograms` checked: a boolean, or valid metric names. */
function nativeHistogramsOf(setting: string, value: unknown): boolean | string[] {
  if (typeof value === "boolean") return value;
  if (!Array.isArray(value)) {
    throw new ConfigError(setting, `expected true, false or a list of histogram names, got ${JSON.stringify(value)}`);
  }
  for (const name of value) {
    if (typeof name !== "string" || !isValidMetricName(name)) {
      throw new ConfigError(
        setting,
        `${JSON.stringify(name)} is not a metric name: letters, digits, "_" and ":", not starting with a digit`,
      );
    }
  }
  return [...value];
}

/** Whether the histogram `name` is kept as a native histogram too. */
export function isNativeHistogram(config: Pick<ResolvedConfig, "nativeHistograms">, name: string): boolean {
  const native = config.nativeHistograms;
  return native === true || (native !== false && native.includes(name));
}

/** The HTTPS files the options and environment name, checked for coherence (not read here). */
function resolveTls(options: TlsOptions, env: EnvSource): TlsFiles | undefined {
  const path = (option: keyof TlsOptions, variable: string): [string | undefined, string] => {
    const value = options[option];
    if (value !== undefined) {
      if (typeof value !== "string" || value === "") throw new ConfigError(`tls.${option}`, "expected a file path");
      return [value, `tls.${option}`];
    }
    return [env(variable) || undefined, variable];
  };
  const [certFile, certSetting] = path("certFile", "PROMETHEUS_SSL_CERTFILE");
  const [keyFile, keySetting] = path("keyFile", "PROMETHEUS_SSL_KEYFILE");
  const [clientCaFile, caSetting] = path("clientCaFile", "PROMETHEUS_SSL_CLIENT_CAFILE");
  const [clientCaPath, caPathSetting] = path("clientCaPath", "PROMETHEUS_SSL_CLIENT_CAPATH");
  const requiredSetting = options.clientAuthRequired !== undefined
    ? "tls.clientAuthRequired"
    : "PROMETHEUS_SSL_CLIENT_AUTH_REQUIRED";
  const clientAuthRequired = options.clientAuthRequired ??
    readEnv(env, "PROMETHEUS_SSL_CLIENT_AUTH_REQUIRED", parseBoolean) ?? false;
  if (certFile === undefined && keyFile === undefined) {
    const orphan = clientCaFile !== undefined ? caSetting : clientCaPath !== undefined ? caPathSetting : undefined;
    if (orphan !== undefined) {
      throw new ConfigError(orphan, `client certificates need HTTPS: set ${certSetting} and ${keySetting} too`);
    }
    if (clientAuthRequired) {
      throw new ConfigError(requiredSetting, `client certificates need HTTPS: set ${certSetting} and ${keySetting}`);
    }
    return undefined;
  }
  if (certFile === undefined) throw new ConfigError(certSetting, `is not set, but ${keySetting} is: HTTPS needs both`);
  if (keyFile === undefined) throw new ConfigError(keySetting, `is not set, but ${certSetting} is: HTTPS needs both`);
  if (clientAuthRequired && clientCaFile === undefined && clientCaPath === undefined) {
    throw new ConfigError(
      requiredSetting,
      `is true, but no CA to verify client certificates against: set ${caSetting} or ${caPathSetting}`,
    );
  }
  return { certFile, keyFile, clientCaFile, clientCaPath, clientAuthRequired };
}

/** A duration option in milliseconds within `min`..`max`, or its default; anything else is a ConfigError naming it. */
export function ms(setting: string, value: number | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value < min || value > max) {
    throw new ConfigError(setting, `expected milliseconds from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return value;
}
