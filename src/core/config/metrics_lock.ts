/**
 * Who may scrape: the bearer token and basic-auth credentials from the options and environment,
 * checked at start-up (a bad value is a ConfigError naming the setting, never showing it), and
 * whether `/metrics` is open to anyone. The guard in `serve/auth.ts` applies it to each scrape.
 * @module
 */
import type { EnvSource } from "../env.ts";
import { ConfigError } from "../errors.ts";
import type { ExporterOptions } from "../api/types.ts";

/** How `/metrics` is locked, after configuration. */
export interface MetricsLock {
  /** The bearer token a scrape may present, when one is set. */
  readonly token: string | undefined;
  /** The basic-auth user and password a scrape may present, when set. */
  readonly basic?: { readonly username: string; readonly password: string };
  /** Serve to anyone without a token (where the runtime would lock by default). */
  readonly open: boolean;
}

/**
 * The lock on `/metrics` the options and environment ask for: a bearer token, a basic-auth user
 * and password, or both. A bad credential is an error that never shows it.
 */
export function metricsLock(
  options: Pick<ExporterOptions, "metricsToken" | "metricsUsername" | "metricsPassword">,
  env: EnvSource,
  publicMetrics: boolean,
): MetricsLock {
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

/** Whether `token` can be sent in an Authorization header (visible ASCII, no spaces). */
export function isValidToken(token: string): boolean {
  return /^[\x21-\x7e]{1,4096}$/.test(token);
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
