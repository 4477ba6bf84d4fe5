#!/usr/bin/env node
/**
 * The sidecar: serves the aggregate of every process from storage alone, with no app, configured
 * by the same environment variables and the same rule as the apps (`UPSTASH_*`, `REDIS_ENABLED`
 * with `REDIS_URL` or `REDIS_HOST`, or `PROMETHEUS_MULTIPROC_DIR`;
 * `PROMETHEUS_METRICS_PORT`, `PROMETHEUS_BIND_ADDRESS`). `help` (`--help`, `-h`) prints the usage,
 * `--version` the package's version; anything else is a usage error (exit 2).
 *
 *   npx hono-prometheus-exporter serve
 *   deno run -A jsr:@hono-prometheus/exporter/cli serve
 *   bun src/cli.ts serve
 * @module
 */
import { readFile } from "node:fs/promises";
import { createExporter } from "./adapter/auto.ts";
import { hostRuntime } from "./adapter/host_runtime.ts";
import { ConfigError, describeError } from "./core/errors.ts";
import { chooseStorage } from "./storage/drivers.ts";
import { HOST_PLACE } from "./storage/host_place.ts";
import { hostEnv } from "./adapter/entry/host_exporter.ts";

// What each backend's driver (storage/drivers.ts and the drivers it lists) is selected by.
const USAGE = `usage: hono-prometheus-exporter <command>

commands:
  serve           serve /metrics with the aggregate of every process that publishes to the storage
  help, --help    print this help (also -h)
  --version       print the version

serve takes no arguments: like the apps, it reads the environment. The storage, by the apps' rule
(Upstash or Redis, shared by many hosts, over the filesystem of one host; Upstash and Redis at once
is an error):
  Upstash REST Redis  UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN
                      (unless REDIS_ENABLED=false)
  Redis over TCP      REDIS_ENABLED=true, with REDIS_URL, or REDIS_HOST and REDIS_PORT (neither:
                      localhost:6379); REDIS_DB, REDIS_USERNAME, REDIS_PASSWORD, REDIS_CLUSTER;
                      needs the @redis/client package
  the filesystem      PROMETHEUS_MULTIPROC_DIR=<dir>, the apps' directory on this host
With Upstash or Redis, REDIS_KEY_PREFIX as the apps have it.
The server: PROMETHEUS_METRICS_PORT (default 9091) and PROMETHEUS_BIND_ADDRESS (default 0.0.0.0);
HTTPS with PROMETHEUS_SSL_CERTFILE and PROMETHEUS_SSL_KEYFILE (client certificates:
PROMETHEUS_SSL_CLIENT_CAFILE or PROMETHEUS_SSL_CLIENT_CAPATH, PROMETHEUS_SSL_CLIENT_AUTH_REQUIRED);
locked with PROMETHEUS_METRICS_TOKEN, or PROMETHEUS_METRICS_USERNAME and
PROMETHEUS_METRICS_PASSWORD.
Settings may come from PROMETHEUS_CONFIG_FILE (YAML), under the environment.`;

const HELP = new Set(["help", "--help", "-h"]);

/** Runs the command line; returns the exit code (0 while the server runs). */
export async function main(args: readonly string[]): Promise<number> {
  const [command, ...rest] = args;
  if (command !== undefined && HELP.has(command)) {
    console.log(USAGE);
    return 0;
  }
  if (command === "--version") return await printVersion();
  if (command !== "serve") {
    console.error(
      `hono-prometheus-exporter: ${
        command === undefined ? "no command given" : `unknown command ${JSON.stringify(command)}`
      }\n`,
    );
    console.error(USAGE);
    return 2;
  }
  if (rest.length > 0) {
    if (rest.some((arg) => HELP.has(arg))) return await main(["help"]);
    console.error(
      `hono-prometheus-exporter: serve takes no arguments (got ${JSON.stringify(rest[0])}); it reads the environment\n`,
    );
    console.error(USAGE);
    return 2;
  }
  return await serve();
}

async function serve(): Promise<number> {
  try {
    const runtime = hostRuntime();
    const storage = chooseStorage(hostEnv(runtime.env), {}, HOST_PLACE); // the configuration file too
    if (storage === undefined) {
      throw new ConfigError(
        "REDIS_ENABLED",
        "nothing to serve: set UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN, REDIS_ENABLED=true (with REDIS_URL " +
          "or REDIS_HOST), or PROMETHEUS_MULTIPROC_DIR",
      );
    }
    const exporter = createExporter({ storage, workerId: "sidecar" });
    await exporter.whenReady();
    if (exporter.metricsServer === undefined) return 1;
    console.log(`sidecar serving the ${storage.kind} aggregate on :${exporter.metricsServer.port}/metrics`);
    return 0;
  } catch (error) {
    console.error(`hono-prometheus-exporter: ${describeError(error)}`);
    return 2;
  }
}

async function printVersion(): Promise<number> {
  try {
    console.log(await packageVersion());
    return 0;
  } catch (error) {
    console.error(`hono-prometheus-exporter: cannot tell its version: ${describeError(error)}`);
    return 1;
  }
}

/**
 * The version in the package's manifest, the nearest one above this file: package.json for the
 * sources and the npm build (`dist/src/cli.js`), deno.json on JSR (which publishes no package.json).
 */
async function packageVersion(): Promise<string> {
  const local = import.meta.url.startsWith("file:");
  const [file, name] = local
    ? ["package.json", "hono-prometheus-exporter"]
    : ["deno.json", "@hono-prometheus/exporter"];
  for (let dir = new URL("./", import.meta.url);; dir = new URL("../", dir)) {
    const manifest = await readManifest(new URL(file, dir), local);
    if (manifest?.name === name && typeof manifest.version === "string") return manifest.version;
    if (new URL("../", dir).href === dir.href) throw new Error(`no ${file} named ${name} above ${import.meta.url}`);
  }
}

/** The manifest at `url`, or undefined where there is none (or another package's, unreadable). */
async function readManifest(url: URL, local: boolean): Promise<{ name?: unknown; version?: unknown } | undefined> {
  try {
    if (local) return JSON.parse(await readFile(url, "utf8"));
    const response = await fetch(url);
    return response.ok ? await response.json() : (await response.body?.cancel(), undefined);
  } catch {
    return undefined; // not this directory: the search goes on upwards
  }
}

const argv = (globalThis as { Deno?: { args: string[] } }).Deno?.args ??
  (globalThis as { process?: { argv: string[] } }).process?.argv.slice(2) ?? [];
const code = await main(argv);
if (code !== 0) (globalThis as { process?: { exit(code: number): void } }).process?.exit(code);
