import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import process from "node:process";
import { test } from "node:test";
import { Counter, createExporter, Registry } from "../../mod.ts";
import { ConfigError } from "../../src/core/errors.ts";
import { chooseStorage } from "../../src/storage/drivers.ts";
import { HOST_PLACE } from "../../src/storage/host_place.ts";
import { UpstashStorage } from "../../src/storage/upstash.ts";
import { startRedis } from "../support/redis.ts";
import { commandFor, RUNTIME } from "../support/runtime.ts";
import { sample } from "../support/sim.ts";
import { reportedPorts, start } from "../support/spawn.ts";
import { startGateway } from "../support/upstash_gateway.ts";

test(`the sidecar on ${RUNTIME} serves the aggregate from Upstash with no app`, async () => {
  const redis = await startRedis();
  const gateway = await startGateway(redis.port);
  const [command, args] = commandFor("src/cli.ts");
  try {
    const registry = new Registry();
    const jobs = new Counter({ name: "jobs_total", help: "Jobs.", registers: [registry] });
    jobs.inc(42);
    const storage = new UpstashStorage({ url: gateway.url, token: gateway.token, keyPrefix: `sidecar-${RUNTIME}` });
    await createExporter({ registry, storage, metricsServer: false }).flush();
    const sidecar = await start(command, [...args, "serve"], {
      REDIS_ENABLED: "true",
      UPSTASH_REDIS_REST_URL: gateway.url,
      UPSTASH_REDIS_REST_TOKEN: gateway.token,
      REDIS_KEY_PREFIX: `sidecar-${RUNTIME}`,
      PROMETHEUS_METRICS_PORT: "0",
      PROMETHEUS_BIND_ADDRESS: "127.0.0.1",
    }, /sidecar serving the upstash aggregate on :\d+/);
    const [metricsPort] = reportedPorts(sidecar, /sidecar serving the upstash aggregate on :(\d+)/);
    try {
      const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      assert.equal(sample(text, "jobs_total"), 42);
    } finally {
      await sidecar.stop("SIGTERM");
    }
  } finally {
    await gateway.stop();
    await redis.stop();
  }
});

test(`the sidecar on ${RUNTIME} without storage settings says what to set and exits 2`, () => {
  const [command, args] = commandFor("src/cli.ts");
  const env = { ...process.env };
  for (const name of ["REDIS_ENABLED", "PROMETHEUS_MULTIPROC_DIR"]) delete env[name];
  const result = spawnSync(command, [...args, "serve"], { env, encoding: "utf8" });
  assert.equal(result.status, 2, result.stderr);
  assert.match(
    result.stderr,
    /REDIS_ENABLED: nothing to serve: set UPSTASH_REDIS_REST_URL .*REDIS_ENABLED=true .* or PROMETHEUS_MULTIPROC_DIR/,
  );
});

const PACKAGE = JSON.parse(readFileSync("package.json", "utf8")) as { version: string; bin: Record<string, string> };

/** Runs the CLI from its source on the runtime running the tests. */
function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const [command, commandArgs] = commandFor("src/cli.ts");
  return spawnSync(command, [...commandArgs, ...args], { encoding: "utf8" });
}

test(`the CLI on ${RUNTIME} prints package.json's version with --version`, () => {
  const result = cli("--version");
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout, `${PACKAGE.version}\n`);
});

test(`the built CLI (package.json's bin, in the npm package's layout) on ${RUNTIME} prints the version`, () => {
  const scratch = mkdtempSync(join(tmpdir(), "hpe-cli-build-"));
  try {
    const build = spawnSync("node_modules/.bin/tsc", ["-p", "tsconfig.build.json", "--outDir", join(scratch, "dist")], {
      encoding: "utf8",
    });
    const bin = join(scratch, PACKAGE.bin["hono-prometheus-exporter"]);
    assert.ok(existsSync(bin), `the build made no ${bin}:\n${build.stdout}${build.stderr}`);
    copyFileSync("package.json", join(scratch, "package.json"));
    symlinkSync(resolve("node_modules"), join(scratch, "node_modules"), "dir");
    const args = RUNTIME === "deno" ? ["run", "-A", bin, "--version"] : [bin, "--version"];
    const result = spawnSync(process.execPath, args, { encoding: "utf8" });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, `${PACKAGE.version}\n`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
});

test("the CLI served from a URL as JSR serves it (deno.json, no package.json) prints the same version", async () => {
  const manifest = JSON.parse(readFileSync("deno.json", "utf8")) as { version: string };
  assert.equal(manifest.version, PACKAGE.version, "deno.json and package.json name the same version");
  const published = new Set(["deno.json"]); // and the sources: JSR publishes no package.json
  const files = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? "/", "http://localhost").pathname).slice(1);
    if (!(published.has(path) || (path.startsWith("src/") && path.endsWith(".ts"))) || !existsSync(path)) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { "content-type": path.endsWith(".json") ? "application/json" : "application/typescript" });
    response.end(readFileSync(path));
  });
  await new Promise<void>((done) => files.listen(0, "127.0.0.1", done));
  const cache = mkdtempSync(join(tmpdir(), "hpe-cli-remote-"));
  try {
    const url = `http://127.0.0.1:${(files.address() as AddressInfo).port}/src/cli.ts`;
    // Asynchronous: this process serves the files.
    const deno = RUNTIME === "deno" ? process.execPath : "node_modules/.bin/deno";
    const child = spawn(deno, ["run", "-A", "--config", "deno.json", url, "--version"], {
      env: { ...process.env, DENO_DIR: cache, NO_COLOR: "1" },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    const status = await new Promise((done) => child.once("exit", done));
    assert.equal(status, 0, stderr);
    assert.equal(stdout, `${PACKAGE.version}\n`);
  } finally {
    files.close();
    rmSync(cache, { recursive: true, force: true });
  }
});

test(`help, --help and -h on ${RUNTIME} print the usage on stdout and exit 0`, () => {
  for (const arg of ["help", "--help", "-h"]) {
    const result = cli(arg);
    assert.equal(result.status, 0, `${arg}: ${result.stderr}`);
    assert.match(result.stdout, /^usage: hono-prometheus-exporter <command>\n/, arg);
    assert.equal(result.stderr, "", arg);
  }
});

test(`an unknown command on ${RUNTIME} says so, with the usage on stderr, and exits 2`, () => {
  for (const [args, says] of [[["bogus"], 'unknown command "bogus"'], [[], "no command given"]] as const) {
    const result = cli(...args);
    assert.equal(result.status, 2, `${args}: ${result.stderr}`);
    assert.equal(result.stderr, `hono-prometheus-exporter: ${says}\n\n${cli("help").stdout}`);
    assert.equal(result.stdout, "");
  }
  const extra = cli("serve", "--port=1");
  assert.equal(extra.status, 2);
  assert.match(
    extra.stderr,
    /^hono-prometheus-exporter: serve takes no arguments \(got "--port=1"\); it reads the environment\n/,
  );
});

test("the usage names every backend with the settings that choose it, and they do", () => {
  const usage = cli("help").stdout;
  const chosen = (env: Record<string, string>) => chooseStorage((name) => env[name], {}, HOST_PLACE)?.kind;
  const upstash = { UPSTASH_REDIS_REST_URL: "https://example.upstash.io", UPSTASH_REDIS_REST_TOKEN: "token" };
  const backends: Array<{ name: string; kind: string; env: Record<string, string> }> = [
    { name: "Upstash REST Redis", kind: "upstash", env: upstash },
    { name: "Redis over TCP", kind: "redis", env: { REDIS_ENABLED: "true", REDIS_URL: "redis://127.0.0.1:6390" } },
    { name: "Redis over TCP", kind: "redis", env: { REDIS_ENABLED: "true", REDIS_HOST: "cache", REDIS_PORT: "6390" } },
    { name: "Redis over TCP", kind: "redis", env: { REDIS_ENABLED: "true" } },
    { name: "the filesystem", kind: "filesystem", env: { PROMETHEUS_MULTIPROC_DIR: "/var/run/metrics" } },
  ];
  for (const { name, kind, env } of backends) {
    assert.match(usage, new RegExp(`^  ${name} `, "m"), `the usage names ${name}`);
    for (const variable of Object.keys(env)) assert.ok(usage.includes(variable), `the usage names ${variable}`);
    assert.equal(chosen(env), kind, JSON.stringify(env));
  }
  assert.equal(chosen({ ...upstash, REDIS_ENABLED: "false" }), undefined, "unless REDIS_ENABLED=false");
  assert.throws(() => chosen({ ...upstash, REDIS_ENABLED: "true", REDIS_URL: "redis://h" }), ConfigError);
  assert.ok(usage.includes("Upstash and Redis at once\nis an error"));
});
