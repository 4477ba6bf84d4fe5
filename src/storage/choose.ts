/**
 * The storage a process on a host (Node, Bun, Deno) uses when none is given: a Redis backend when
 * the options or `REDIS_ENABLED` ask for one (Upstash or Redis over TCP, see `redis/settings.ts`),
 * else the filesystem backend when `PROMETHEUS_MULTIPROC_DIR` (or `multiprocDir`) is set, else the
 * memory backend of the process.
 * @module
 */
import type { EnvSource } from "../core/env.ts";
import { ConfigError } from "../core/errors.ts";
import type { Storage } from "../core/storage.ts";
import type { Names } from "../core/config/options.ts";
import { FilesystemStorage } from "./filesystem/storage.ts";
import type { RemoteOptions } from "./redis/settings.ts";
import { remoteStorage } from "./redis/tcp_settings.ts";

/** Options that choose a host's storage. */
export interface HostStorageOptions extends RemoteOptions {
  /** Directory shared by the processes of this host. Env `PROMETHEUS_MULTIPROC_DIR`. */
  readonly multiprocDir?: string;
}

/** The options that choose a host's storage, by name (for the check a JavaScript caller gets). */
export const HOST_STORAGE_OPTIONS: Names<HostStorageOptions> = { upstash: true, redis: true, multiprocDir: true };

/**
 * The multiprocess directory the options and environment name, or undefined: the one reading of
 * `multiprocDir` and `PROMETHEUS_MULTIPROC_DIR` (an empty variable is unset; an empty option is an error).
 */
export function resolveMultiprocDir(options: HostStorageOptions, env: EnvSource): string | undefined {
  if (options.multiprocDir !== undefined) {
    if (typeof options.multiprocDir !== "string" || options.multiprocDir === "") {
      throw new ConfigError("multiprocDir", "expected a directory path; leave it out to use PROMETHEUS_MULTIPROC_DIR");
    }
    return options.multiprocDir;
  }
  return env("PROMETHEUS_MULTIPROC_DIR") || undefined;
}

/** The storage the options and environment select, or undefined for the memory backend. */
export function hostStorage(env: EnvSource, options: HostStorageOptions): Storage | undefined {
  const remote = remoteStorage(env, options);
  if (remote !== undefined) return remote;
  const directory = resolveMultiprocDir(options, env);
  return directory === undefined ? undefined : new FilesystemStorage({ directory });
}
