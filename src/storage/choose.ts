/**
 * The storage a process on a host (Node, Bun, Deno) uses when none is given: Upstash when
 * `REDIS_ENABLED` is true (or the `upstash` option is set), else the filesystem backend when
 * `PROMETHEUS_MULTIPROC_DIR` (or `multiprocDir`) is set, else the memory backend of the process.
 * @module
 */
import { type EnvSource, parseBoolean, readEnv } from "../core/env.ts";
import type { Storage } from "../core/storage.ts";
import { FilesystemStorage } from "./filesystem/storage.ts";
import { upstashFromEnv, type UpstashStorageOptions } from "./upstash.ts";

/** Options that choose a host's storage. */
export interface HostStorageOptions {
  /** Directory shared by the processes of this host. Env `PROMETHEUS_MULTIPROC_DIR`. */
  readonly multiprocDir?: string;
  /** Upstash settings; present (or `REDIS_ENABLED=true`) selects Upstash. Unset fields come from the env. */
  readonly upstash?: UpstashStorageOptions;
}

/** The storage the options and environment select, or undefined for the memory backend. */
export function hostStorage(env: EnvSource, options: HostStorageOptions): Storage | undefined {
  if (options.upstash !== undefined || readEnv(env, "REDIS_ENABLED", parseBoolean) === true) {
    return upstashFromEnv(env, options.upstash);
  }
  const directory = options.multiprocDir ?? env("PROMETHEUS_MULTIPROC_DIR");
  return directory === undefined || directory === "" ? undefined : new FilesystemStorage({ directory });
}
