/**
 * The filesystem driver: selected by the `multiprocDir` option or `PROMETHEUS_MULTIPROC_DIR`;
 * the directory is made at the first publish, and the backend loads at its first use.
 * @module
 */
import type { EnvSource } from "../../core/env.ts";
import { ConfigError } from "../../core/errors.ts";
import { LazyStorage } from "../../core/lazy_storage.ts";
import type { StorageDriver } from "../../core/storage.ts";

/** The option that chooses the filesystem backend. */
export interface FilesystemChoice {
  /** Node, Bun, Deno: directory shared by this host's processes, selecting the filesystem backend. Env `PROMETHEUS_MULTIPROC_DIR`. */
  readonly multiprocDir?: string;
}

/**
 * The multiprocess directory the options and environment name, or undefined: the one reading of
 * `multiprocDir` and `PROMETHEUS_MULTIPROC_DIR` (an empty variable is unset; an empty option is an error).
 */
export function resolveMultiprocDir(options: FilesystemChoice, env: EnvSource): string | undefined {
  if (options.multiprocDir !== undefined) {
    if (typeof options.multiprocDir !== "string" || options.multiprocDir === "") {
      throw new ConfigError("multiprocDir", "expected a directory path; leave it out to use PROMETHEUS_MULTIPROC_DIR");
    }
    return options.multiprocDir;
  }
  return env("PROMETHEUS_MULTIPROC_DIR") || undefined;
}

/** The filesystem, chosen by its option or `PROMETHEUS_MULTIPROC_DIR`. */
export const filesystemDriver: StorageDriver<FilesystemChoice> = {
  kind: "filesystem",
  needs: { fileSystem: true, tcp: false },
  offers: { sharedBy: "host" },
  selectedBy(env, options) {
    if (options.multiprocDir !== undefined) return "multiprocDir";
    return env("PROMETHEUS_MULTIPROC_DIR") ? "PROMETHEUS_MULTIPROC_DIR" : undefined;
  },
  fromEnv(env, options, place) {
    const directory = resolveMultiprocDir(options, env)!;
    const load = place?.load?.filesystem as (() => Promise<typeof import("./storage.ts")>) | undefined;
    return new LazyStorage(
      { kind: "filesystem", timeoutMs: 5000, address: directory },
      async () => {
        if (load === undefined) throw new Error("the filesystem backend is not part of this entry point");
        return new (await load()).FilesystemStorage({ directory });
      },
    );
  },
};
