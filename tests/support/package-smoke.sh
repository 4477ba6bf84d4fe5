#!/usr/bin/env bash
# Packs the npm package as it would be published and loads every entry point from a scratch
# project on plain Node (no tsx): what an npm user gets.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cd "$root"
tarball=$(npm pack --silent --pack-destination "$scratch" | tail -1)
cd "$scratch"
npm init -y >/dev/null
npm install --no-audit --no-fund --loglevel=error "./$tarball" hono >/dev/null
cat > smoke.mjs <<'JS'
import { Hono } from "hono";
import { createExporter as createWeb, prometheus, Registry } from "hono-prometheus-exporter";
import { createExporter } from "hono-prometheus-exporter/node";
import "hono-prometheus-exporter/memory";
import "hono-prometheus-exporter/filesystem";
import "hono-prometheus-exporter/upstash";
import "hono-prometheus-exporter/workers";
import "hono-prometheus-exporter/auto";
const exporter = createExporter({ registry: new Registry(), metricsServer: false, handleSignals: false });
const app = new Hono();
app.use(prometheus({ exporter }));
app.get("/users/:id", (c) => c.json({ id: c.req.param("id") }));
await app.request("/users/1");
const text = await exporter.collect();
if (!/hono_worker_requests_total\{method="GET",route="\/users\/:id",status="200"\} 1/.test(text)) throw new Error(text);
if (typeof createWeb !== "function") throw new Error("main entry");
console.log("npm package: every entry point loads on plain Node and counts a request");
JS
node smoke.mjs

# What a new project without the optional peer gets: one ConfigError that says what to install.
cat > peer.mjs <<'JS'
import { prometheus, Registry } from "hono-prometheus-exporter";
import { createExporter } from "hono-prometheus-exporter/node";
const exporter = createExporter({ registry: new Registry(), redis: { url: "redis://127.0.0.1:1" }, metricsServer: false });
const refused = await exporter.whenReady().then(() => undefined, (error) => error);
if (refused?.name !== "ConfigError" || !/npm install @redis\/client/.test(refused.message)) {
  throw new Error(`whenReady without @redis/client: ${refused}`);
}
await exporter.onExit();
try {
  prometheus();
  throw new Error("prometheus() without options did not throw");
} catch (error) {
  if (error.name !== "ConfigError" || !/createExporter\(\)/.test(error.message)) throw error;
}
console.log("npm package: without @redis/client whenReady rejects with a ConfigError naming the fix; prometheus() without an exporter too");
JS
node peer.mjs

# A storage path that is a file, and Upstash variables on a host: the first fails at start with
# one ConfigError, the second selects Upstash (REDIS_ENABLED unset), whose outage never fails it.
cat > storage.mjs <<'JS'
import { writeFileSync } from "node:fs";
import { Registry } from "hono-prometheus-exporter";
import { createExporter } from "hono-prometheus-exporter/node";
writeFileSync("not-a-directory", "");
process.env.PROMETHEUS_MULTIPROC_DIR = "not-a-directory";
const file = createExporter({ registry: new Registry(), metricsServer: false, handleSignals: false });
const refused = await file.whenReady().then(() => undefined, (error) => error);
if (refused?.name !== "ConfigError" || refused.setting !== "PROMETHEUS_MULTIPROC_DIR" || !/director/.test(refused.message)) {
  throw new Error(`whenReady with a file for PROMETHEUS_MULTIPROC_DIR: ${refused}`);
}
await file.onExit();
delete process.env.PROMETHEUS_MULTIPROC_DIR;
process.env.UPSTASH_REDIS_REST_URL = "http://127.0.0.1:1";
process.env.UPSTASH_REDIS_REST_TOKEN = "smoke-token";
const logger = { lines: [], warn(m) { this.lines.push(m); }, error(m) { this.lines.push(m); } };
const upstash = createExporter({ registry: new Registry(), metricsServer: false, handleSignals: false, logger, shutdownTimeoutMs: 200 });
await upstash.whenReady();
const failed = await upstash.flush().then(() => undefined, (error) => error);
if (failed?.backend !== "upstash") throw new Error(`Upstash variables did not select Upstash: ${failed}`);
await upstash.onExit();
if (logger.lines.some((line) => line.includes("smoke-token"))) throw new Error("the token was logged");
console.log("npm package: a file for PROMETHEUS_MULTIPROC_DIR makes whenReady reject with a ConfigError; Upstash variables select Upstash");
JS
node storage.mjs

# Source maps resolve: every map in the package carries the sources it points at.
node -e '
const fs = require("node:fs"), path = require("node:path");
const files = fs.readdirSync("node_modules/hono-prometheus-exporter/dist", { recursive: true }).filter((f) => f.endsWith(".map"));
if (files.length === 0) throw new Error("no source maps in the package");
for (const f of files) {
  const map = JSON.parse(fs.readFileSync(path.join("node_modules/hono-prometheus-exporter/dist", f), "utf8"));
  if (!Array.isArray(map.sourcesContent) || map.sourcesContent.length !== map.sources.length || map.sourcesContent.some((s) => typeof s !== "string"))
    throw new Error(f + ": its sources are neither shipped nor inlined");
}
console.log("npm package: " + files.length + " source maps, each with its sources inlined");
'
# The types check in a TypeScript project, under both module resolutions a user may have.
cat > types.ts <<'TS'
import { Hono } from "hono";
import { type Exporter, metricsHandler, prometheus, type PrometheusOptions } from "hono-prometheus-exporter";
import { createExporter } from "hono-prometheus-exporter/node";
import { createExporter as createWorkersExporter } from "hono-prometheus-exporter/workers";
import { MemoryStorage } from "hono-prometheus-exporter/memory";
import { FilesystemStorage } from "hono-prometheus-exporter/filesystem";
import { UpstashStorage } from "hono-prometheus-exporter/upstash";
const exporter: Exporter = createExporter({ storage: new MemoryStorage(), metricsServer: false });
const options: PrometheusOptions = { exporter, naming: "@hono/prometheus" };
const app = new Hono();
app.use(prometheus(options));
app.get("/metrics", metricsHandler(exporter));
export { app, createWorkersExporter, FilesystemStorage, UpstashStorage };
TS
for resolution in nodenext bundler; do
  module=$([ "$resolution" = nodenext ] && echo nodenext || echo esnext)
  "$root/node_modules/.bin/tsc" --noEmit --strict --skipLibCheck --target es2022 --lib es2022,dom \
    --module "$module" --moduleResolution "$resolution" types.ts
  echo "npm package: the types check under moduleResolution $resolution"
done
help=$(./node_modules/.bin/hono-prometheus-exporter help 2>&1)
case "$help" in *"usage: hono-prometheus-exporter <command>"*"serve"*) ;; *) echo "the installed command's help does not read as expected: $help"; exit 1 ;; esac
version=$(./node_modules/.bin/hono-prometheus-exporter --version)
expected=$(node -p 'require("./node_modules/hono-prometheus-exporter/package.json").version')
[ "$version" = "$expected" ] || { echo "hono-prometheus-exporter --version printed '$version', the package is $expected"; exit 1; }
status=0; ./node_modules/.bin/hono-prometheus-exporter frobnicate >/dev/null 2>unknown.err || status=$?
[ "$status" = 2 ] && grep -q "frobnicate" unknown.err || { echo "an unknown command exited $status: $(cat unknown.err)"; exit 1; }
echo "npm package: the hono-prometheus-exporter command is installed: help, --version ($version), an unknown command exits 2"

# The lowest versions the peer ranges allow (hono >=4.8.0, prom-client ^15.0.0) work as well.
lowest=$(mktemp -d)
trap 'rm -rf "$scratch" "$lowest"' EXIT
cp smoke.mjs "$lowest/"
cd "$lowest"
npm init -y >/dev/null
npm install --no-audit --no-fund --loglevel=error "$scratch/$tarball" hono@4.8.0 prom-client@15.0.0 >/dev/null
node -e 'for (const p of ["hono", "prom-client"]) console.log("npm package: with " + p + " " + require("./node_modules/" + p + "/package.json").version)'
node smoke.mjs

# The README's quick starts, pasted into a default project (npm init -y: CommonJS) with the
# install line's packages: Node with `npx tsx app.ts`, Bun with `bun app.ts`, Deno reading
# node_modules. Each serves on PORT, counts the request and its response size.
quick=$(mktemp -d)
trap 'rm -rf "$scratch" "$lowest" "$quick"; kill $(jobs -p) 2>/dev/null || true' EXIT
snippet() { # the block after the README marker `run <runtime> <runtime>`
  node -e '
const lines = require("node:fs").readFileSync(process.argv[1], "utf8").split("\n");
const at = lines.findIndex((l) => l.startsWith("<!-- snippet: run " + process.argv[2] + " " + process.argv[2] + " "));
if (at < 0) throw new Error("no " + process.argv[2] + " quick start in the README");
const open = lines.indexOf("```ts", at), end = lines.indexOf("```", open + 1);
console.log(lines.slice(open + 1, end).join("\n"));' "$root/README.md" "$1"
}
cd "$quick"
npm init -y >/dev/null
npm install --no-audit --no-fund --loglevel=error "$scratch/$tarball" hono prom-client @hono/node-server tsx >/dev/null
snippet node > app.ts
snippet bun > app-bun.ts
snippet deno > app-deno.ts
try_app() { # <name> <command...>: starts it on a free port, requests /users/1, checks /metrics
  local name=$1; shift
  PORT=0 "$@" > "$name.log" 2>&1 &
  local pid=$! port="" i
  for i in $(seq 1 300); do
    port=$(sed -n 's|.*listening on http://localhost:\([0-9]*\).*|\1|p' "$name.log" | head -1)
    [ -n "$port" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  [ -n "$port" ] || { echo "$name quick start did not start:"; cat "$name.log"; exit 1; }
  curl -sf "http://127.0.0.1:$port/users/1" >/dev/null
  local metrics
  metrics=$(curl -sf "http://127.0.0.1:$port/metrics")
  kill "$pid"; wait "$pid" 2>/dev/null || true
  grep -q '^hono_worker_requests_total{method="GET",route="/users/:id",status="200"} 1$' <<<"$metrics" &&
    grep -q '^hono_worker_response_size_bytes_count{method="GET",route="/users/:id"} 1$' <<<"$metrics" ||
    { echo "$name quick start: the request or its size is not counted:"; echo "$metrics"; exit 1; }
  echo "npm package: the README's $name quick start, in a default project, counts the request and its response size"
}
try_app Node npx tsx app.ts
try_app Bun "$root/node_modules/.bin/bun" app-bun.ts
try_app Deno "$root/node_modules/.bin/deno" run -A app-deno.ts
