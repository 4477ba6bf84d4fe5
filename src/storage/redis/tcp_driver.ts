/**
 * The Redis-over-TCP driver: selected by the `redis` option, or by `REDIS_ENABLED=true` (with
 * `REDIS_URL` or `REDIS_HOST`, or with neither and no Upstash variable: localhost:6379, the Python
 * original's default); built from the option over `REDIS_URL`, `REDIS_HOST`, `REDIS_PORT`,
 * `REDIS_DB`, `REDIS_USERNAME`, `REDIS_PASSWORD`, `REDIS_CLUSTER`, `REDIS_KEY_PREFIX` and the TTL
 * variables, checked at once; the backend and its client (`@redis/client`, an optional peer) load
 * at its first use.
 * @module
 */
import { type EnvSource, parseBoolean, parseInteger, readEnv } from "../../core/env.ts";
import { ConfigError } from "../../core/errors.ts";
import { LazyStorage } from "../../core/lazy_storage.ts";
import type { StorageDriver } from "../../core/storage.ts";
import { type RedisStorageOptions, redisTarget } from "./options.ts";
import { keySettings } from "./scripts.ts";
import { dropUndefined, ttlFromEnv } from "./settings.ts";
import { ms } from "../../core/config/config.ts";
import { type RemoteOptions, upstashVariable } from "./upstash_driver.ts";

/** The Redis-over-TCP settings: `options` over the environment. */
function redisSettings(env: EnvSource, options: RedisStorageOptions = {}): RedisStorageOptions {
  const ttlMs = ttlFromEnv(env);
  const integer = (name: string, min: number, max: number) =>
    readEnv(env, name, (n, raw) => parseInteger(n, raw, min, max));
  const fromEnv: RedisStorageOptions = options.url !== undefined || options.host !== undefined ? {} : {
    url: env("REDIS_URL") || undefined,
    host: env("REDIS_HOST") || undefined,
    port: integer("REDIS_PORT", 1, 65535),
    db: integer("REDIS_DB", 0, 1_000_000),
  };
  return {
    ...dropUndefined(fromEnv),
    username: env("REDIS_USERNAME") || undefined,
    password: env("REDIS_PASSWORD") || undefined,
    cluster: readEnv(env, "REDIS_CLUSTER", parseBoolean),
    keyPrefix: env("REDIS_KEY_PREFIX") || undefined,
    ...(ttlMs === undefined ? {} : { ttlMs }),
    ...dropUndefined(options),
  };
}

/** Redis over TCP, chosen by its option or `REDIS_ENABLED=true`. */
export const redisDriver: StorageDriver<RemoteOptions> = {
  kind: "redis",
  needs: { fileSystem: false, tcp: true },
  offers: { sharedBy: "hosts" },
  selectedBy(env, options) {
    if (options.redis !== undefined) return "redis";
    if (readEnv(env, "REDIS_ENABLED", parseBoolean) !== true) return undefined;
    if (env("REDIS_URL")) return "REDIS_URL";
    if (env("REDIS_HOST")) return "REDIS_HOST";
    return options.upstash === undefined && upstashVariable(env) === undefined ? "REDIS_ENABLED" : undefined;
  },
  fromEnv(env, options, place) {
    const load = place?.load?.redis as (() => Promise<typeof import("./tcp_storage.ts")>) | undefined;
    const settings = redisSettings(env, options.redis);
    const keys = keySettings(settings, true);
    const { url: address } = redisTarget(settings);
    const known = {
      kind: "redis",
      expiresAfterMs: keys.expiresAfterMs,
      timeoutMs: ms("timeoutMs", settings.timeoutMs, 5000, 1, 600_000),
      address,
    };
    return new LazyStorage(known, async () => {
      let module: typeof import("./tcp_storage.ts");
      try {
        if (load === undefined) throw new Error("Redis over TCP is not part of this entry point");
        module = await load();
      } catch (error) {
        if (/@redis\/client/.test(String(error))) {
          throw new ConfigError(
            options.redis !== undefined ? "redis" : "REDIS_ENABLED",
            "Redis over TCP needs the @redis/client package: npm install @redis/client (Deno: deno add npm:@redis/client)",
          );
        }
        throw error;
      }
      return new module.RedisStorage(settings);
    });
  },
};
