/**
 * The Upstash settings from the environment, checked without loading the backend (a wrong setting
 * is a ConfigError at start-up). Edge-safe: the Workers entry builds Upstash from them; the hosts
 * load it, or Redis over TCP, at first use (`tcp_settings.ts`, never part of a Workers bundle).
 * The choice between the two, from options and the environment:
 * - the `upstash` option, or the `redis` option (both: an error);
 * - else, with `REDIS_ENABLED=true`: Upstash when `UPSTASH_REDIS_REST_URL` (or its token) is set, Redis over TCP
 *   when `REDIS_URL` or `REDIS_HOST` is set (both: an error), else Redis over TCP on
 *   localhost:6379, the Python original's default.
 * @module
 */
import { type EnvSource, parseBoolean, parseInteger, readEnv } from "../../core/env.ts";
import { checkUpstashCredentials, type RedisStorageOptions, type UpstashStorageOptions } from "./options.ts";
import { keySettings } from "./scripts.ts";

/** The options that choose a Redis backend. */
export interface RemoteOptions {
  /** Upstash settings (selects Upstash). */
  readonly upstash?: UpstashStorageOptions;
  /** Redis over TCP settings (selects Redis). */
  readonly redis?: RedisStorageOptions;
}

/**
 * The Upstash settings: `options` over the environment (`UPSTASH_REDIS_REST_URL`,
 * `UPSTASH_REDIS_REST_TOKEN`, `REDIS_KEY_PREFIX`, `REDIS_TTL_SECONDS`, `REDIS_TTL_DISABLED`),
 * checked, without loading the backend.
 */
export function upstashSettings(env: EnvSource, options: UpstashStorageOptions = {}): UpstashStorageOptions {
  const ttlMs = ttlFromEnv(env);
  const settings: UpstashStorageOptions = {
    url: env("UPSTASH_REDIS_REST_URL"),
    token: env("UPSTASH_REDIS_REST_TOKEN"),
    keyPrefix: env("REDIS_KEY_PREFIX") || undefined,
    ...(ttlMs === undefined ? {} : { ttlMs }),
    ...options,
  };
  keySettings(settings, false);
  if (settings.redis === undefined) checkUpstashCredentials(settings);
  return settings;
}

/** `REDIS_TTL_SECONDS` (or `REDIS_TTL_DISABLED`) in ms, or undefined when neither is set. */
export function ttlFromEnv(env: EnvSource): number | undefined {
  if (readEnv(env, "REDIS_TTL_DISABLED", parseBoolean) === true) return 0;
  const seconds = readEnv(env, "REDIS_TTL_SECONDS", (n, raw) => parseInteger(n, raw, 1, 31_536_000));
  return seconds === undefined ? undefined : seconds * 1000;
}

export function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
