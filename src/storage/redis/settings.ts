/**
 * Settings of the two Redis backends, checked without loading either (so that a wrong setting is
 * a ConfigError at start-up, and an unused backend's client library is never loaded), and the
 * choice between them from options and the environment:
 * - the `upstash` option, or the `redis` option (both: an error);
 * - else, with `REDIS_ENABLED=true`: Upstash when `UPSTASH_REDIS_REST_URL` (or its token) is set, Redis over TCP
 *   when `REDIS_URL` or `REDIS_HOST` is set (both: an error), else Redis over TCP on
 *   localhost:6379, the Python original's default.
 * @module
 */
import { type EnvSource, parseBoolean, parseInteger, readEnv } from "../../core/env.ts";
import { ConfigError } from "../../core/errors.ts";
import type { Storage } from "../../core/storage.ts";
import { LazyStorage } from "../lazy.ts";
import {
  checkUpstashCredentials,
  type RedisStorageOptions,
  redisTarget,
  type UpstashStorageOptions,
} from "./options.ts";
import { keySettings } from "./scripts.ts";

/** The options that choose a Redis backend. */
export interface RemoteOptions {
  /** Upstash settings (selects Upstash). */
  readonly upstash?: UpstashStorageOptions;
  /** Redis over TCP settings (selects Redis). */
  readonly redis?: RedisStorageOptions;
}

/** The Upstash backend with unset fields from the environment, loaded at its first use. */
export function upstashFromEnv(env: EnvSource, options: UpstashStorageOptions = {}): Storage {
  const ttlMs = ttlFromEnv(env);
  const settings: UpstashStorageOptions = {
    url: env("UPSTASH_REDIS_REST_URL"),
    token: env("UPSTASH_REDIS_REST_TOKEN"),
    keyPrefix: env("REDIS_KEY_PREFIX") || undefined,
    ...(ttlMs === undefined ? {} : { ttlMs }),
    ...options,
  };
  const keys = keySettings(settings, false);
  if (settings.redis === undefined) checkUpstashCredentials(settings);
  return new LazyStorage(
    "upstash",
    keys.expiresAfterMs,
    async () => new (await import("../upstash.ts")).UpstashStorage(settings),
  );
}

/** Redis over TCP with unset fields from the environment, loaded (with `@redis/client`) at its first use. */
export function redisFromEnv(env: EnvSource, options: RedisStorageOptions = {}): Storage {
  const ttlMs = ttlFromEnv(env);
  const integer = (name: string, min: number, max: number) =>
    readEnv(env, name, (n, raw) => parseInteger(n, raw, min, max));
  const fromEnv: RedisStorageOptions = options.url !== undefined || options.host !== undefined ? {} : {
    url: env("REDIS_URL") || undefined,
    host: env("REDIS_HOST") || undefined,
    port: integer("REDIS_PORT", 1, 65535),
    db: integer("REDIS_DB", 0, 1_000_000),
  };
  const settings: RedisStorageOptions = {
    ...dropUndefined(fromEnv),
    username: env("REDIS_USERNAME") || undefined,
    password: env("REDIS_PASSWORD") || undefined,
    cluster: readEnv(env, "REDIS_CLUSTER", parseBoolean),
    keyPrefix: env("REDIS_KEY_PREFIX") || undefined,
    ...(ttlMs === undefined ? {} : { ttlMs }),
    ...dropUndefined(options),
  };
  const keys = keySettings(settings, true);
  redisTarget(settings);
  return new LazyStorage("redis", keys.expiresAfterMs, async () => {
    let module: typeof import("../redis.ts");
    try {
      module = await import("../redis.ts");
    } catch (error) {
      if (/@redis\/client/.test(String(error))) {
        throw new ConfigError(
          "REDIS_ENABLED",
          "Redis over TCP needs the @redis/client package: npm install @redis/client (Deno: deno add npm:@redis/client)",
        );
      }
      throw error;
    }
    return new module.RedisStorage(settings);
  });
}

/**
 * The Redis backend the options and environment choose, or undefined when none is: see the
 * module's description for the order. `tcp` is false where Redis over TCP cannot run (Workers).
 */
export function remoteStorage(env: EnvSource, options: RemoteOptions, tcp = true): Storage | undefined {
  if (options.upstash !== undefined && options.redis !== undefined) {
    throw new ConfigError("redis", "the upstash and redis options are both set; choose one backend");
  }
  if (options.upstash !== undefined) return upstashFromEnv(env, options.upstash);
  if (options.redis !== undefined) return tcp ? redisFromEnv(env, options.redis) : refuseTcp("redis");
  if (readEnv(env, "REDIS_ENABLED", parseBoolean) !== true) return undefined;
  const upstash = env("UPSTASH_REDIS_REST_URL")
    ? "UPSTASH_REDIS_REST_URL"
    : env("UPSTASH_REDIS_REST_TOKEN")
    ? "UPSTASH_REDIS_REST_TOKEN"
    : undefined;
  const redis = env("REDIS_URL") ? "REDIS_URL" : env("REDIS_HOST") ? "REDIS_HOST" : undefined;
  if (upstash !== undefined && redis !== undefined) {
    throw new ConfigError(
      redis,
      `is set, and so is ${upstash}: REDIS_ENABLED=true would mean Redis over TCP and Upstash at once; unset one`,
    );
  }
  if (upstash !== undefined || !tcp) return upstashFromEnv(env);
  return redisFromEnv(env);
}

function refuseTcp(setting: string): never {
  throw new ConfigError(setting, "Redis over TCP needs sockets this runtime does not give; use Upstash (REST)");
}

/** `REDIS_TTL_SECONDS` (or `REDIS_TTL_DISABLED`) in ms, or undefined when neither is set. */
function ttlFromEnv(env: EnvSource): number | undefined {
  if (readEnv(env, "REDIS_TTL_DISABLED", parseBoolean) === true) return 0;
  const seconds = readEnv(env, "REDIS_TTL_SECONDS", (n, raw) => parseInteger(n, raw, 1, 31_536_000));
  return seconds === undefined ? undefined : seconds * 1000;
}

function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
