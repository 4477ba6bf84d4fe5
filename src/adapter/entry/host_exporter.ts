/**
 * What the host adapters (Node, Bun, Deno) share: an exporter whose storage, when none is given,
 * comes from the options and the environment (the one selection rule of `storage/drivers.ts`), else memory.
 * @module
 */
import type { InternalOptions, ProcessExporter } from "../../core/exporter/exporter.ts";
import type { Runtime } from "../../core/runtime.ts";
import { createExporterFor } from "./factory.ts";
import { chooseStorage, refuseTwoBackends, STORAGE_CHOICE_OPTIONS, type StorageChoice } from "../../storage/drivers.ts";
import { HOST_PLACE } from "../../storage/host_place.ts";
import { resolveRemoteWrite, startPushing } from "../../core/push/remote_write.ts";
import type { EnvSource } from "../../core/env.ts";
import { readConfigFile } from "./config_file.ts";
import type { CommonOptions, HostOptions, TimerOptions } from "../../core/api/types.ts";
import { checkOptions, COMMON_OPTIONS, HOST_OPTIONS, TIMER_OPTIONS } from "../../core/config/options.ts";

/** Options of the host entries' `createExporter` (Node, Bun, Deno): every option group, and the storage choice. */
export interface HostExporterOptions extends CommonOptions, TimerOptions, HostOptions, StorageChoice {}

/** The option groups of the host entries, for the check a JavaScript caller gets. */
export const HOST_ENTRY_OPTIONS = [COMMON_OPTIONS, TIMER_OPTIONS, HOST_OPTIONS, STORAGE_CHOICE_OPTIONS] as const;

/** The host entry's public `createExporter`: the options checked, then {@link createHostExporter}. */
export function hostEntryExporter(runtime: Runtime, options: HostExporterOptions): ProcessExporter {
  checkOptions(options, `createExporter from hono-prometheus-exporter/${runtime.name}`, HOST_ENTRY_OPTIONS);
  refuseTwoBackends(options);
  return createHostExporter(runtime, options);
}

/** Creates an exporter for a host runtime, its environment over the configuration file if one is set. */
export function createHostExporter(runtime: Runtime, options: InternalOptions & StorageChoice): ProcessExporter {
  const withFile: Runtime = { ...runtime, env: hostEnv(runtime.env, options) };
  return createExporterFor(
    withFile,
    { ...options, push: options.push ?? remoteWriteOf(options, withFile.env) },
    (env) => chooseStorage(env, options, HOST_PLACE),
  );
}

/** Remote write as the options and environment set it (checked now: a bad setting is a ConfigError at once). */
export function remoteWriteOf(options: InternalOptions, env: EnvSource): InternalOptions["push"] {
  const settings = resolveRemoteWrite(options.remoteWrite, env);
  return settings === undefined ? undefined : (exporter) => startPushing(settings, exporter);
}

/**
 * The environment as a host exporter reads it: the variables, then what the configuration file
 * (`configFile`, else `PROMETHEUS_CONFIG_FILE`) sets; a variable that is set wins over the file.
 */
export function hostEnv(env: EnvSource, options: { readonly configFile?: string } = {}): EnvSource {
  const path = options.configFile ?? env("PROMETHEUS_CONFIG_FILE");
  if (path === undefined || path === "") return env;
  const values = readConfigFile(path);
  return (name) => env(name) ?? values[name];
}
