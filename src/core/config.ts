/**
 * Configuration: programmatic options first, then the environment variables the Python original
 * named, then defaults. Everything is validated here, once, at start-up.
 * @module
 */
import { isValidToken, type MetricsLock } from "./serve/auth.ts";
import { type EnvSource, parseBoolean, parseInteger, parsePort, readEnv } from "./env.ts";
import { ConfigError } from "./errors.ts";
import { type MultiprocessMode, parseMode } from "./values/modes.ts";
import { isValidMetricName } from "./codec/series_key.ts";

/** Settings that can come from options or the environment. */
export interface ConfigOptions {
  /** Metric name prefix. Default `hono`. */
  readonly namespace?: string;
  /** Port of the metrics server. Env `PROMETHEUS_METRICS_PORT`; default 9091; 0 picks a free port. */
  readonly metricsPort?: number;
  /** Address the metrics server binds to. Env `PROMETHEUS_BIND_ADDRESS`; default `0.0.0.0`. */
  readonly bindAddress?: string;
  /** Whether `whenReady` starts the metrics server. Env `PROMETHEUS_METRICS_SERVER`; default true. */
  readonly metricsServer?: boolean;
  /** How often the process publishes, in ms. Default 5000. */
  readonly publishIntervalMs?: number;
  /** How often worker gauges (memory, CPU, uptime) are sampled, in ms. Default 10000. */
  readonly workerMetricsIntervalMs?: number;
  /** After this long without a publish a process is no longer live, in ms. Default 3 publish intervals, at least 15 s. */
  readonly staleAfterMs?: number;
  /** After this long without a publish a process is retired, in ms. Default 120000. */
  readonly deadAfterMs?: number;
  /** Most series per metric. Default 10000. */
  readonly seriesLimit?: number;
  /** This process's `worker_id` label. Env `PROMETHEUS_WORKER_ID`; default from host and pid. */
  readonly workerId?: string;
  /** Add `worker_id` to the request counter. Default false. */
  readonly requestsByWorker?: boolean;
  /** Mode of plain prom-client gauges, by metric name. */
  readonly gaugeModes?: Readonly<Record<string, MultiprocessMode>>;
  /**
   * After each response, hand a coalesced publish to the request's `waitUntil` (or a timer where
   * there is none). Default true on edge runtimes (Workers), false elsewhere, where the interval publishes.
   */
  readonly publishAfterResponse?: boolean;
  /** With `publishAfterResponse`: requests within this many ms share one publish. Default 1000. */
  readonly flushWindowMs?: number;
  /** Scrapes within this many ms of each other share one storage read. Default 1000; 0 shares only concurrent ones. */
  readonly minScrapeIntervalMs?: number;
  /** Bearer token `/metrics` accepts. Env `PROMETHEUS_METRICS_TOKEN`. Never logged. */
  readonly metricsToken?: string;
  /** Basic-auth user name `/metrics` accepts (with `metricsPassword`). Env `PROMETHEUS_METRICS_USERNAME`. */
  readonly metricsUsername?: string;
  /** Basic-auth password (with `metricsUsername`). Env `PROMETHEUS_METRICS_PASSWORD`. Never logged. */
  readonly metricsPassword?: string;
  /** HTTPS for the metrics server (hosts), field by field over `PROMETHEUS_SSL_*`. */
  readonly tls?: TlsOptions;
  /**
   * Serve `/metrics` without a token. Env `PROMETHEUS_METRICS_PUBLIC`. Default true on hosts, false on
   * edge runtimes, where metrics are refused (403) until a token is set or this is true.
   */
  readonly publicMetrics?: boolean;
}

/** HTTPS for the metrics server: files, as paths. */
export interface TlsOptions {
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
}

/** HTTPS settings after validation: both server files, and how clients are checked. */
export interface TlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
  readonly clientCaFile: string | undefined;
  readonly clientCaPath: string | undefined;
  readonly clientAuthRequired: boolean;
}

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
    readonly [K in Exclude<keyof ConfigOptions, Secret | "workerId" | "tls">]-?: NonNullable<ConfigOptions[K]>;
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
    requestsByWorker: options.requestsByWorker ?? false,
    gaugeModes,
    publishAfterResponse: options.publishAfterResponse ?? edge,
    flushWindowMs: ms("flushWindowMs", options.flushWindowMs, 1000, 0, 60_000),
    minScrapeIntervalMs: ms("minScrapeIntervalMs", options.minScrapeIntervalMs, 1000, 0, 3_600_000),
    publicMetrics: options.publicMetrics ?? readEnv(env, "PROMETHEUS_METRICS_PUBLIC", parseBoolean) ?? !edge,
    tls: resolveTls(options.tls ?? {}, env),
  };
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

/**
 * The lock on `/metrics` the options and environment ask for: a bearer token, a basic-auth user
 * and password, or both. A bad credential is an error that never shows it.
 */
export function metricsLock(options: ConfigOptions, env: EnvSource, publicMetrics: boolean): MetricsLock {
  const fromOption = options.metricsToken !== undefined;
  const token = fromOption ? options.metricsToken : env("PROMETHEUS_METRICS_TOKEN") || undefined;
  if (token !== undefined && (typeof token !== "string" || !isValidToken(token))) {
    throw new ConfigError(
      fromOption ? "metricsToken" : "PROMETHEUS_METRICS_TOKEN",
      "must be 1 to 4096 visible ASCII characters with no spaces (it is sent as `Authorization: Bearer <token>`)",
    );
  }
  const username = options.metricsUsername ?? (env("PROMETHEUS_METRICS_USERNAME") || undefined);
  const password = options.metricsPassword ?? (env("PROMETHEUS_METRICS_PASSWORD") || undefined);
  const userSetting = options.metricsUsername !== undefined ? "metricsUsername" : "PROMETHEUS_METRICS_USERNAME";
  const passwordSetting = options.metricsPassword !== undefined ? "metricsPassword" : "PROMETHEUS_METRICS_PASSWORD";
  if ((username === undefined) !== (password === undefined)) {
    throw new ConfigError(
      username === undefined ? userSetting : passwordSetting,
      "basic auth needs both a user name and a password (PROMETHEUS_METRICS_USERNAME and PROMETHEUS_METRICS_PASSWORD)",
    );
  }
  if (username !== undefined && !isCredential(username, 256, true)) {
    throw new ConfigError(userSetting, "must be 1 to 256 characters, with no colon and no control characters");
  }
  if (password !== undefined && !isCredential(password, 4096, false)) {
    throw new ConfigError(passwordSetting, "must be 1 to 4096 characters, with no control characters");
  }
  const basic = username !== undefined && password !== undefined ? { username, password } : undefined;
  return { token, basic, open: publicMetrics };
}

/** 1 to `max` characters, none of them a control character (nor a colon, for a user name). */
function isCredential(value: unknown, max: number, noColon: boolean): boolean {
  if (typeof value !== "string" || value.length === 0 || value.length > max) return false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c === 0x7f || (noColon && c === 0x3a)) return false;
  }
  return true;
}

function ms(setting: string, value: number | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value < min || value > max) {
    throw new ConfigError(setting, `expected milliseconds from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return value;
}
