/**
 * The storage a process on a host (Node, Bun, Deno) uses when none is given:
 * `PROMETHEUS_MULTIPROC_DIR` (or the `multiprocDir` option) selects the filesystem backend,
 * else the memory backend shared by the process.
 * @module
 */
import type { EnvSource } from "../core/env.ts";
import type { Storage } from "../core/storage.ts";
import { FilesystemStorage } from "./filesystem.ts";

/** Options that choose a host's storage. */
export interface HostStorageOptions {
  /** Directory shared by the processes of this host. Env `PROMETHEUS_MULTIPROC_DIR`. */
  readonly multiprocDir?: string;
}

/** The filesystem backend when a directory is configured, else undefined (memory). */
export function hostStorage(env: EnvSource, options: HostStorageOptions): Storage | undefined {
  const directory = options.multiprocDir ?? env("PROMETHEUS_MULTIPROC_DIR");
  return directory === undefined || directory === "" ? undefined : new FilesystemStorage({ directory });
}
