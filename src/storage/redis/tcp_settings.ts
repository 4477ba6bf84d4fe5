/**
 * Redis over TCP from the environment, and the choice between it and Upstash (see `settings.ts`),
 * for the host runtimes only: this module (and so `@redis/client`) is never part of the root entry
 * or of a Workers bundle.
 * @module
 */
import { type EnvSource, parseBoolean, parseInteger, readEnv } from "../../core/env.ts";
import { ConfigError } from "../../core/errors.ts";
import type { Storage } from "../../core/storage.ts";
import { LazyStorage } from "../lazy.ts";
import { type RedisStorageOptions, redisTarget, type UpstashStorageOptions } from "./options.ts";
import { keySettings } from "./scripts.ts";
import { addressOf } from "./errors.ts";
import { dropUndefined, type RemoteOptions, ttlFromEnv, upstashSettings } from "./settings.ts";

/** The Upstash backend with unset fields from the environment, loaded (with its REST client) at its first use. */
export function upstashFromEnv(env: EnvSource, options: UpstashStorageOptions = {}): Storage {
  const settings = upstashSettings(env, options);
  const known = { kind: "upstash", expiresAfterMs: keySettings(settings, false).expiresAfterMs };
  const address = settings.url === undefined ? undefined : addressOf(settings.url).address;
  return new LazyStorage(
    { ...known, timeoutMs: settings.timeoutMs ?? 5000, address },
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
  const { url: address } = redisTarget(settings);
  return new LazyStorage(
    { kind: "redis", expiresAfterMs: keys.expiresAfterMs, timeoutMs: settings.timeoutMs ?? 5000, address },
    async () => {
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
    },
  );
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
