/**
 * The Upstash driver: selected by the `upstash` option, or by an Upstash variable
 * (`UPSTASH_REDIS_REST_URL`, `UPSTASH_REDIS_REST_TOKEN`) unless `REDIS_ENABLED=false`; built from
 * the option over `UPSTASH_REDIS_REST_URL`, `UPSTASH_REDIS_REST_TOKEN`, `REDIS_KEY_PREFIX`,
 * `REDIS_TTL_SECONDS` and `REDIS_TTL_DISABLED`, checked at once and loaded at its first use.
 * @module
 */
import { type EnvSource, parseBoolean, readEnv } from "../../core/env.ts";
import { LazyStorage } from "../../core/lazy_storage.ts";
import type { StorageDriver } from "../../core/storage.ts";
import { addressOf } from "./errors.ts";
import { checkUpstashCredentials, type RedisStorageOptions, type UpstashStorageOptions } from "./options.ts";
import { keySettings } from "./scripts.ts";
import { dropUndefined, ttlFromEnv } from "./settings.ts";
import { ms } from "../../core/config/config.ts";

/** The options that choose a Redis backend. */
export interface RemoteOptions {
  /**
   * Upstash settings, selecting the Upstash backend (as does an `UPSTASH_REDIS_REST_URL` or
   * `UPSTASH_REDIS_REST_TOKEN` variable, unless `REDIS_ENABLED=false`); unset fields come from
   * `UPSTASH_REDIS_REST_URL`, `UPSTASH_REDIS_REST_TOKEN`, `REDIS_KEY_PREFIX`, `REDIS_TTL_SECONDS`,
   * `REDIS_TTL_DISABLED`.
   */
  readonly upstash?: UpstashStorageOptions;
  /**
   * Node, Bun, Deno: Redis over TCP (one server or a Redis Cluster), selecting that backend (as
   * does `REDIS_ENABLED=true`); unset fields come from `REDIS_URL`, `REDIS_HOST`, `REDIS_PORT`,
   * `REDIS_DB`, `REDIS_USERNAME`, `REDIS_PASSWORD`, `REDIS_CLUSTER`, `REDIS_KEY_PREFIX`,
   * `REDIS_TTL_SECONDS`, `REDIS_TTL_DISABLED`.
   */
  readonly redis?: RedisStorageOptions;
}

/** The Upstash variable that is set, if any. */
export function upstashVariable(env: EnvSource): string | undefined {
  if (env("UPSTASH_REDIS_REST_URL")) return "UPSTASH_REDIS_REST_URL";
  return env("UPSTASH_REDIS_REST_TOKEN") ? "UPSTASH_REDIS_REST_TOKEN" : undefined;
}

/**
 * The Upstash settings: `options` over the environment, checked, without loading the backend.
 */
export function upstashSettings(env: EnvSource, options: UpstashStorageOptions = {}): UpstashStorageOptions {
  const ttlMs = ttlFromEnv(env);
  const settings: UpstashStorageOptions = {
    url: env("UPSTASH_REDIS_REST_URL"),
    token: env("UPSTASH_REDIS_REST_TOKEN"),
    keyPrefix: env("REDIS_KEY_PREFIX") || undefined,
    ...(ttlMs === undefined ? {} : { ttlMs }),
    ...dropUndefined(options),
  };
  keySettings(settings, false);
  if (settings.redis === undefined) checkUpstashCredentials(settings);
  return settings;
}

/** Upstash, chosen by its option or its variables. */
export const upstashDriver: StorageDriver<RemoteOptions> = {
  kind: "upstash",
  needs: { fileSystem: false, tcp: false },
  offers: { sharedBy: "hosts" },
  selectedBy(env, options) {
    if (options.upstash !== undefined) return "upstash";
    if (readEnv(env, "REDIS_ENABLED", parseBoolean) === false) return undefined;
    return upstashVariable(env);
  },
  fromEnv(env, options) {
    const settings = upstashSettings(env, options.upstash);
    return new LazyStorage(
      {
        kind: "upstash",
        expiresAfterMs: keySettings(settings, false).expiresAfterMs,
        timeoutMs: ms("timeoutMs", settings.timeoutMs, 5000, 1, 600_000),
        address: settings.url === undefined ? undefined : addressOf(settings.url).address,
      },
      async () => new (await import("./upstash_storage.ts")).UpstashStorage(settings),
    );
  },
};
