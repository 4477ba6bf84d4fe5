/**
 * What the host adapters (Node, Bun, Deno) share: an exporter whose storage, when none is given,
 * comes from the environment (Upstash, else the filesystem, else memory; see `storage/choose.ts`).
 * @module
 */
import type { InternalOptions, ProcessExporter } from "../core/exporter/exporter.ts";
import type { Runtime } from "../core/runtime.ts";
import { createExporterFor } from "./factory.ts";
import { hostStorage } from "../storage/choose.ts";
import type { EnvSource } from "../core/env.ts";
import { readConfigFile } from "./config_file.ts";

/** Creates an exporter for a host runtime, its environment over the configuration file if one is set. */
export function createHostExporter(runtime: Runtime, options: InternalOptions): ProcessExporter {
  const withFile: Runtime = { ...runtime, env: hostEnv(runtime.env, options) };
  return createExporterFor(withFile, options, (env) => hostStorage(env, options));
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
