/**
 * The one selection rule, used by every entry point (the host entries, `supervise`,
 * `createParallelExporter`, Workers, the command line): the same settings choose the same backend
 * everywhere. Options win over the environment; among what is selected, the widest sharing wins
 * (Upstash or Redis, shared by many hosts, over the filesystem of one host), and two of the same
 * width are a ConfigError that names both. What the entry's runtime cannot run is a ConfigError
 * that names the setting. Nothing selected: the memory backend of the process.
 * @module
 */
import type { Names } from "../core/config/options.ts";
import type { EnvSource } from "../core/env.ts";
import { ConfigError } from "../core/errors.ts";
import type { Storage, StorageDriver, StoragePlace } from "../core/storage.ts";
import { filesystemDriver } from "./filesystem/driver.ts";
import type { RedisStorageOptions, UpstashStorageOptions } from "./redis/options.ts";
import { redisDriver } from "./redis/tcp_driver.ts";
import { upstashDriver } from "./redis/upstash_driver.ts";
import { durableObjectDriver } from "./durable/driver.ts";

/** The options that choose a backend (see the module's description for the rule). */
export interface StorageChoice {
  /** Upstash settings, selecting the Upstash backend; unset fields come from `UPSTASH_*` and `REDIS_KEY_PREFIX`/`REDIS_TTL_*`. */
  readonly upstash?: UpstashStorageOptions;
  /** Node, Bun, Deno: Redis over TCP settings, selecting that backend; unset fields come from `REDIS_*`. */
  readonly redis?: RedisStorageOptions;
  /** Node, Bun, Deno: directory shared by this host's processes, selecting the filesystem backend. Env `PROMETHEUS_MULTIPROC_DIR`. */
  readonly multiprocDir?: string;
}

/** The options that choose a backend, by name (for the check a JavaScript caller gets). */
export const STORAGE_CHOICE_OPTIONS: Names<StorageChoice> = { upstash: true, redis: true, multiprocDir: true };

/** The selection table: every backend the settings can choose. */
const DRIVERS: ReadonlyArray<StorageDriver<StorageChoice>> = [
  durableObjectDriver,
  upstashDriver,
  redisDriver,
  filesystemDriver,
];

const WIDTH = { process: 0, host: 1, hosts: 2 } as const;

/** The driver the options, else the environment, select, with the setting that selects it. */
export function selectDriver(
  env: EnvSource,
  options: StorageChoice,
  place: StoragePlace,
): { driver: StorageDriver<StorageChoice>; setting: string } | undefined {
  const selected = DRIVERS.map((driver) => ({ driver, setting: driver.selectedBy(env, options, place) }))
    .filter((s): s is { driver: StorageDriver<StorageChoice>; setting: string } => s.setting !== undefined);
  const byOption = selected.filter((s) => s.setting in STORAGE_CHOICE_OPTIONS);
  const candidates = byOption.length > 0 ? byOption : selected;
  if (candidates.length === 0) return undefined;
  const widest = Math.max(...candidates.map((s) => WIDTH[s.driver.offers.sharedBy]));
  const [chosen, other] = candidates.filter((s) => WIDTH[s.driver.offers.sharedBy] === widest);
  if (other !== undefined) {
    throw new ConfigError(
      other.setting,
      `is set, and so is ${chosen.setting}: they choose ${other.driver.kind} and ${chosen.driver.kind} storage at once; ` +
        "choose one backend",
    );
  }
  const lacks = chosen.driver.needs.fileSystem && !place.fileSystem
    ? "a file system"
    : chosen.driver.needs.tcp && !place.tcp
    ? "TCP connections held across requests"
    : undefined;
  if (lacks !== undefined) {
    throw new ConfigError(
      chosen.setting,
      `chooses ${chosen.driver.kind} storage, which needs ${lacks}; ${place.name} has none` +
        (place.instead ? `: ${place.instead}` : ""),
    );
  }
  return chosen;
}

/** A backend given as `storage` and chosen by name at once is a ConfigError: the `storage` option is the backend itself. */
export function refuseTwoBackends(options: StorageChoice & { readonly storage?: unknown }): void {
  if (options.storage === undefined) return;
  for (const name of Object.keys(STORAGE_CHOICE_OPTIONS) as Array<keyof StorageChoice>) {
    if (options[name] !== undefined) {
      throw new ConfigError(name, "is set, and so is storage (the backend itself); give one of them");
    }
  }
}

/** The storage the options and environment select, built and checked; undefined for the memory backend. */
export function chooseStorage(env: EnvSource, options: StorageChoice, place: StoragePlace): Storage | undefined {
  const selected = selectDriver(env, options, place);
  return selected?.driver.fromEnv(env, options, place);
}
