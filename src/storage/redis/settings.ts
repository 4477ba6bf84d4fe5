/**
 * What both Redis drivers read from the environment alike: the key lifetime.
 * @module
 */
import { type EnvSource, parseBoolean, parseInteger, readEnv } from "../../core/env.ts";

/** `REDIS_TTL_SECONDS` (or `REDIS_TTL_DISABLED`) in ms, or undefined when neither is set. */
export function ttlFromEnv(env: EnvSource): number | undefined {
  if (readEnv(env, "REDIS_TTL_DISABLED", parseBoolean) === true) return 0;
  const seconds = readEnv(env, "REDIS_TTL_SECONDS", (n, raw) => parseInteger(n, raw, 1, 31_536_000));
  return seconds === undefined ? undefined : seconds * 1000;
}

/** `value` without its undefined fields (so that they do not hide a value from the environment). */
export function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
