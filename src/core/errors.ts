/**
 * Error classes for the failures a user can act on. Each message names the setting or the
 * backend involved and what to do about it.
 * @module
 */

/** A configuration value (option or environment variable) is invalid. */
export class ConfigError extends Error {
  /** The option or environment variable that holds the bad value. */
  readonly setting: string;

  /**
   * Creates an error about one setting.
   * @param setting The option or environment variable name.
   * @param message What is wrong and which values are accepted.
   */
  constructor(setting: string, message: string) {
    super(`${setting}: ${message}`);
    this.name = "ConfigError";
    this.setting = setting;
  }
}

/** A storage backend failed (unreachable, refused, or returned data it should not have). */
export class StorageError extends Error {
  /** The backend that failed, for example `memory`, `filesystem` or `upstash`. */
  readonly backend: string;
  /** The failure passes by itself (for example a retirement under way): retrying is enough. */
  readonly transient: boolean;

  /**
   * Creates an error about one backend.
   * @param backend The backend's kind.
   * @param message What failed and what to check.
   * @param options The underlying cause, if any, and whether the failure passes by itself.
   */
  constructor(backend: string, message: string, options?: { cause?: unknown; transient?: boolean }) {
    super(`${backend} storage: ${message}`, options);
    this.name = "StorageError";
    this.backend = backend;
    this.transient = options?.transient ?? false;
  }
}

/** Returns a short, single-line description of any thrown value. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

/** The ConfigError in `error` or its causes, if any: a failure that no retry can mend. */
export function configErrorIn(error: unknown): ConfigError | undefined {
  for (let e = error, depth = 0; e !== undefined && e !== null && depth < 8; depth++) {
    if (e instanceof ConfigError) return e;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}
