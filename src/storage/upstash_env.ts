/**
 * The Upstash backend as the environment (on Workers, the bindings) configures it: the Python
 * original's variable names, under the options given in code.
 * @module
 */
import { type EnvSource, parseBoolean, parseInteger, readEnv } from "../core/env.ts";
import { UpstashStorage, type UpstashStorageOptions } from "./upstash.ts";

/**
 * An Upstash backend configured from `options`, with unset fields from the environment:
 * `UPSTASH_REDIS_REST_URL`, `UPSTASH_REDIS_REST_TOKEN`, `REDIS_KEY_PREFIX`, `REDIS_TTL_SECONDS`,
 * `REDIS_TTL_DISABLED`.
 */
export function upstashFromEnv(env: EnvSource, options: UpstashStorageOptions = {}): UpstashStorage {
  const ttlDisabled = readEnv(env, "REDIS_TTL_DISABLED", parseBoolean) ?? false;
  const ttlSeconds = readEnv(env, "REDIS_TTL_SECONDS", (n, raw) => parseInteger(n, raw, 1, 31_536_000));
  return new UpstashStorage({
    url: env("UPSTASH_REDIS_REST_URL"),
    token: env("UPSTASH_REDIS_REST_TOKEN"),
    keyPrefix: env("REDIS_KEY_PREFIX") || undefined,
    ttlMs: ttlDisabled ? 0 : ttlSeconds === undefined ? undefined : ttlSeconds * 1000,
    ...options,
  });
}
