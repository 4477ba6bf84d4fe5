/**
 * The runtime-agnostic environment reader. Each adapter supplies an {@link EnvSource}
 * (`process.env`, `Deno.env`, the Workers `env` bindings); parsing and validation happen here,
 * and a bad value is an error that names the variable and the accepted values.
 * @module
 */
import { ConfigError } from "./errors.ts";

/** Reads one environment variable; undefined when unset or not readable. */
export type EnvSource = (name: string) => string | undefined;

/** An environment with nothing set. */
export const emptyEnv: EnvSource = () => undefined;

/** An {@link EnvSource} over a plain object, such as the Workers `env` bindings. */
export function envFromObject(object: Readonly<Record<string, unknown>>): EnvSource {
  return (name) => {
    const value = object[name];
    return typeof value === "string" ? value : undefined;
  };
}

/** Reads `name` and parses it; undefined when unset or empty. A bad value throws a ConfigError naming `name`. */
export function readEnv<T>(env: EnvSource, name: string, parse: (name: string, raw: string) => T): T | undefined {
  const raw = env(name);
  return raw === undefined || raw === "" ? undefined : parse(name, raw);
}

const TRUE = ["true", "1", "yes", "on"];
const FALSE = ["false", "0", "no", "off"];

/** Parses a boolean: true/false, 1/0, yes/no, on/off (any case). */
export function parseBoolean(name: string, raw: string): boolean {
  const value = raw.trim().toLowerCase();
  if (TRUE.includes(value)) return true;
  if (FALSE.includes(value)) return false;
  throw new ConfigError(name, `expected a boolean (true/false, 1/0, yes/no, on/off), got ${JSON.stringify(raw)}`);
}

/** Parses a whole number within [min, max]. */
export function parseInteger(name: string, raw: string, min: number, max: number): number {
  const value = raw.trim();
  if (!/^-?\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new ConfigError(name, `expected a whole number from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return Number(value);
}

/** Parses a TCP port (0 asks the system for a free one). */
export function parsePort(name: string, raw: string): number {
  return parseInteger(name, raw, 0, 65535);
}
