/**
 * Runs the benchmarks and prints a Markdown table: every number is a ratio against a baseline
 * measured in the same run, because the machine is shared and noisy.
 *   npm run bench                 all of them
 *   npm run bench -- increment collect http:node http:bun http:deno   a selection
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { benchCollect } from "./collect.ts";
import { benchFilesystem } from "./filesystem.ts";
import { benchHttp, type Spread } from "./http.ts";
import { benchIncrement } from "./increment.ts";
import { benchRedis } from "./redis.ts";
import { benchScale } from "./scale.ts";
import { benchUpstash } from "./upstash.ts";
import type { InProcessResult } from "./middleware.ts";
import { benchSigkill } from "./sigkill.ts";
import { benchWorkers } from "./workers.ts";
import { benchDurable } from "./durable.ts";
import { table, verdict } from "./stats.ts";

const selected = process.argv.slice(2);
const want = (name: string) =>
  selected.length === 0 || selected.includes(name) || selected.includes(name.split(":")[0]);
// The tools the benchmarks use (wrk for HTTP, redis-server...), installed the way the tests install theirs.
spawnSync("bash", ["tests/support/install-system-deps.sh", "--bench"], { stdio: "inherit" });
const rows: Array<Array<string | number>> = [];
/** Every benchmark's own result, for the JSON file. */
const results: Record<string, unknown> = {};

if (want("increment")) {
  const r = await benchIncrement();
  results.increment = r;
  rows.push([
    "(a) counter.inc + histogram.observe, 3 labels",
    `${r.baselineNs.toFixed(0)} ns (prom-client alone)`,
    `${r.exporterNs.toFixed(0)} ns (with exporter publishing)`,
    verdict(r.exporterNs / r.baselineNs, 1.05, "<="),
  ]);
}

for (const runtime of ["node", "bun", "deno"]) {
  if (!want(`http:${runtime}`)) continue;
  try {
    const r = await benchHttp(runtime, Number(process.env.BENCH_ROUNDS ?? 5), Number(process.env.BENCH_SECONDS ?? 3));
    results[`http:${runtime}`] = r;
    const rps = (v: number) => `${Math.round(v)} req/s`;
    const how = `${r.generator}, ${r.pinned ? "server and generator on separate cores" : "unpinned"}`;
    const spread = (s: Spread) => `rounds ${s.min.toFixed(3)}-${s.max.toFixed(3)}`;
    const plain = (s: Spread) => `${s.median.toFixed(3)}x, ${spread(s)}`;
    const ratio = (s: Spread, target: number) => `${verdict(s.median, target, ">=")}, ${spread(s)}`;
    rows.push([
      `(b) ${runtime}: this middleware vs no-op middleware (${how}; median of ${r.rounds} rounds)`,
      rps(r.rps.noop),
      rps(r.rps.exporter),
      ratio(r.ratios.exporter.noop, 0.95),
    ]);
    rows.push([
      `(b) ${runtime}: this middleware vs bare Hono (no target: the middleware layer itself costs, see no-op)`,
      rps(r.rps.bare),
      rps(r.rps.exporter),
      plain(r.ratios.exporter.bare),
    ]);
    rows.push([
      `(b) ${runtime}: instrument(app) vs bare Hono`,
      rps(r.rps.bare),
      rps(r.rps.instrument),
      ratio(r.ratios.instrument.bare, 0.95),
    ]);
    rows.push([
      `(b) ${runtime}: this middleware vs @hono/prometheus`,
      rps(r.rps["hono-prometheus"]),
      rps(r.rps.exporter),
      ratio(r.ratios.exporter["hono-prometheus"], 1.0),
    ]);
    rows.push([
      `(b) ${runtime}: clock-only middleware vs no-op (the least a middleware that times requests costs)`,
      rps(r.rps.noop),
      rps(r.rps.clock),
      plain(r.ratios.clock.noop),
    ]);
    rows.push([
      `(b) ${runtime}: no-op middleware vs bare Hono (what one middleware layer costs)`,
      rps(r.rps.bare),
      rps(r.rps.noop),
      plain(r.ratios.noop.bare),
    ]);
    // The same comparisons side by side (both servers at once on core 0), and the control pair.
    const side = (pair: string, label: string, target?: number) => {
      const p = r.paired[pair];
      if (p === undefined) return;
      rows.push([
        `(b) ${runtime}, side by side: ${label}`,
        "",
        "",
        target === undefined ? plain(p) : ratio(p, target),
      ]);
    };
    side("exporter/noop", "this middleware vs no-op middleware", 0.95);
    side("instrument/bare", "instrument(app) vs bare Hono", 0.95);
    side("exporter/hono-prometheus", "this middleware vs @hono/prometheus", 1.0);
    side("clock/noop", "clock-only middleware vs no-op (the least a middleware that times requests costs)");
    side("noop/noop", "no-op vs no-op (control: two identical servers)");
  } catch (error) {
    rows.push([`(b) ${runtime}`, "failed", String(error), ""]);
  }
}

// In process (no server): what each variant's own JavaScript costs per request, on each runtime.
const IN_PROCESS: Record<string, [string, string[]]> = {
  node: [process.execPath, ["--import", "tsx", "bench/middleware.ts"]],
  bun: ["node_modules/.bin/bun", ["bench/middleware.ts"]],
  deno: ["node_modules/.bin/deno", ["run", "-A", "bench/middleware.ts"]],
};
for (const [runtime, [command, args]] of Object.entries(IN_PROCESS)) {
  if (!want(`middleware:${runtime}`)) continue;
  const child = spawnSync(command, args, { encoding: "utf8" });
  const last = child.stdout?.trim().split("\n").at(-1) ?? "";
  if (child.status !== 0 || !last.startsWith("{")) {
    rows.push([`(b') ${runtime} in process`, "failed", (child.stderr ?? String(child.error)).slice(-300), ""]);
    continue;
  }
  const r = JSON.parse(last) as InProcessResult;
  results[`middleware:${runtime}`] = r;
  const ns = (a: number, b: number) => `+${Math.round((a - b) * 1000)} ns`;
  rows.push([
    `(b') ${runtime} in process, per request: this middleware / clock-only middleware vs no-op`,
    `${r.noop.toFixed(2)} us`,
    `${r.exporter.toFixed(2)} us / ${r.clock.toFixed(2)} us`,
    `${ns(r.exporter, r.noop)} / ${ns(r.clock, r.noop)}; @hono/prometheus ${ns(r["hono-prometheus"], r.noop)}`,
  ]);
  rows.push([
    `(b') ${runtime} in process, per request: instrument(app) vs bare Hono`,
    `${r.bare.toFixed(2)} us`,
    `${r.instrument.toFixed(2)} us`,
    ns(r.instrument, r.bare),
  ]);
}

if (want("collect")) {
  const r = await benchCollect();
  results.collect = r;
  rows.push([
    `(c) collect + render, ${r.processes} processes x ${r.series} series (${(r.outputBytes / 1e6).toFixed(1)} MB)`,
    `${r.promClientMs.toFixed(0)} ms (prom-client AggregatorRegistry)`,
    `${r.exporterMs.toFixed(0)} ms (this collector)`,
    verdict(r.exporterMs / r.promClientMs, 0.1, "<="),
  ]);
}

if (want("filesystem")) {
  const r = await benchFilesystem();
  results.filesystem = r;
  rows.push([
    "(fs) collect + render from the filesystem backend, 16 process files x 3000 label sets",
    `${r.promClientMs.toFixed(0)} ms (prom-client AggregatorRegistry)`,
    `${r.exporterMs.toFixed(0)} ms (this collector, steady scrapes)`,
    verdict(r.exporterMs / r.promClientMs, 0.1, "<="),
  ]);
  rows.push([
    "(fs) the same, a collector's first scrape (parses every file)",
    `${r.promClientMs.toFixed(0)} ms`,
    `${r.coldMs.toFixed(0)} ms`,
    `${(r.coldMs / r.promClientMs).toFixed(3)}x`,
  ]);
  const fmt = (p: { bytes: number; ms: number }) => `${p.bytes} bytes, ${p.ms.toFixed(2)} ms`;
  rows.push(["(fs) one publish after 1 request", "", fmt(r.publishAfterOne), ""]);
  rows.push(["(fs) one publish after 10 000 requests", "", fmt(r.publishAfterTenThousand), ""]);
}

if (want("upstash")) {
  const r = await benchUpstash();
  results.upstash = r;
  for (const c of r.costs) {
    rows.push([
      `(upstash) ${c.appRequests} app requests over ${c.processes} process(es), then one publish each`,
      "",
      `${c.restRequests} REST requests, ${(c.bytes / 1024).toFixed(1)} KiB`,
      `${(c.restRequests / c.appRequests).toFixed(5)} requests per app request`,
    ]);
  }
  for (const s of r.scrapes) {
    rows.push([
      `(upstash) one scrape, ${s.processes} processes`,
      "",
      `${s.ms.toFixed(1)} ms`,
      `${s.restRequests} REST requests`,
    ]);
  }
}

if (want("redis")) {
  const r = await benchRedis();
  results.redis = r;
  rows.push([
    "(redis) round trips over TCP: one publish / one scrape / a scrape that retires a process",
    "Upstash: 1 / 1 / 2 REST requests",
    `${r.roundTrips.publish} / ${r.roundTrips.scrape} / ${r.roundTrips.retiringScrape}`,
    "",
  ]);
  rows.push([
    `(redis) scrape (read, merge, render), ${r.processes} processes x ${r.series} series`,
    `${r.promClientMs.toFixed(0)} ms (prom-client AggregatorRegistry); ${r.memoryMs.toFixed(0)} ms (memory backend)`,
    `${r.redisMs.toFixed(0)} ms`,
    `${(r.redisMs / r.promClientMs).toFixed(3)}x prom-client; ${(r.redisMs / r.memoryMs).toFixed(2)}x memory`,
  ]);
  if (r.bunClient !== undefined) {
    rows.push([
      "(redis) one EVALSHA round trip under Bun: @redis/client vs Bun's built-in RedisClient",
      `${r.bunClient.bunUs.toFixed(0)} us (Bun.RedisClient)`,
      `${r.bunClient.nodeRedisUs.toFixed(0)} us (@redis/client)`,
      `${(r.bunClient.nodeRedisUs / r.bunClient.bunUs).toFixed(2)}x`,
    ]);
  }
}

if (want("scale")) {
  const r = await benchScale();
  results.scale = r;
  rows.push([
    `(scale) collect + render from the filesystem, ${r.fs.processes} processes x ${r.fs.series} series (steady scrapes)`,
    `${r.fs.promClientMs.toFixed(0)} ms (prom-client AggregatorRegistry)`,
    `${r.fs.steadyMs.toFixed(0)} ms (first scrape ${r.fs.coldMs.toFixed(0)} ms)`,
    verdict(r.fs.steadyMs / r.fs.promClientMs, 0.1, "<="),
  ]);
  rows.push([
    "(scale) peak RSS of the bench process, after this collector / after prom-client too",
    "",
    `${r.fs.rssAfterOursMiB.toFixed(0)} MiB / ${r.fs.rssAfterPromClientMiB.toFixed(0)} MiB`,
    "",
  ]);
  rows.push([
    `(scale) encoding of one publish of ${r.publish.series} changed series (snapshot, encoding, diff)`,
    "10 ms (goal)",
    `${r.publish.encodeMs.toFixed(1)} ms`,
    verdict(r.publish.encodeMs / 10, 1, "<="),
  ]);
  rows.push([
    `(scale) the whole publish of ${r.publish.series} changed series (with the write to memory storage)`,
    "10 ms (goal)",
    `${r.publish.ms.toFixed(1)} ms`,
    verdict(r.publish.ms / 10, 1, "<="),
  ]);
  rows.push([
    `(scale) one scrape, ${r.remote.processes} processes x ${r.remote.series} series: Upstash (REST gateway) / Redis TCP`,
    "",
    `${r.remote.upstashMs.toFixed(0)} ms / ${r.remote.redisMs.toFixed(0)} ms`,
    "",
  ]);
  const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
  for (const [kind, f] of [["classic", r.formats.classic], ["native histograms", r.formats.native]] as const) {
    rows.push([
      `(scale) the ${r.fs.series} series' aggregate, ${kind}: size and render time, protobuf against text ` +
      `(merge before it ${f.collectMs.toFixed(0)} ms; OpenMetrics ${mib(f.openmetrics.bytes)}, ${
        f.openmetrics.ms.toFixed(0)
      } ms; an encoder's first protobuf ${f.protobufFirst.ms.toFixed(0)} ms)`,
      `${mib(f.text.bytes)}, ${f.text.ms.toFixed(0)} ms (text)`,
      `${mib(f.protobuf.bytes)}, ${f.protobuf.ms.toFixed(0)} ms`,
      `${(f.protobuf.bytes / f.text.bytes).toFixed(2)}x size, ${(f.protobuf.ms / f.text.ms).toFixed(2)}x time`,
    ]);
  }
}

if (want("workers")) {
  const r = await benchWorkers();
  results.workers = r;
  const kib = (b: number) => `${(b / 1024).toFixed(1)} KiB`;
  rows.push([
    "(workers) bundle of the Workers example (wrangler deploy --dry-run), gzip",
    `${kib(r.bare.gzipBytes)} (bare Hono, same routes; ${kib(r.bare.rawBytes)} raw)`,
    `${kib(r.example.gzipBytes)} (${kib(r.example.rawBytes)} raw)`,
    `+${kib(r.example.gzipBytes - r.bare.gzipBytes)} gzip`,
  ]);
  rows.push([
    `(workers) Upstash REST requests for ${r.requests} requests at a steady rate over ${
      r.seconds.toFixed(1)
    } s, one isolate`,
    `${r.requests} (one publish per request)`,
    `${r.restRequests}`,
    `${((r.restRequests / r.requests) * 1000).toFixed(1)} per 1,000 requests (flush window ${r.flushWindowMs} ms)`,
  ]);
}

if (want("durable")) {
  const r = await benchDurable();
  results.durable = r;
  const kib = (b: number) => `${(b / 1024).toFixed(1)} KiB`;
  rows.push([
    "(durable) bundle of the Durable Object example (wrangler deploy --dry-run), gzip",
    "",
    `${kib(r.example.gzipBytes)} (${kib(r.example.rawBytes)} raw)`,
    "",
  ]);
  const per1000 = (n: number) => ((n / r.requests) * 1000).toFixed(1);
  rows.push([
    `(durable) Durable Object requests and rows written for ${r.requests} requests at a steady rate over ${
      r.seconds.toFixed(1)
    } s, one isolate`,
    `${r.requests} (one publish per request)`,
    `${r.traffic.objectRequests} requests, ${r.traffic.rowsWritten} rows`,
    `${per1000(r.traffic.objectRequests)} requests and ${
      per1000(r.traffic.rowsWritten)
    } rows per 1,000 requests (flush window ${r.flushWindowMs} ms)`,
  ]);
  rows.push([
    "(durable) one scrape of /metrics",
    "",
    `${r.scrape.objectRequests} requests, ${r.scrape.rowsWritten} rows`,
    "",
  ]);
}

if (want("sigkill")) {
  const r = await benchSigkill();
  results.sigkill = r;
  const mean = r.lostPerKill.reduce((a, b) => a + b, 0) / r.kills;
  // Each kill's loss in ms of the killed worker's own traffic (its rate before the kill).
  const windows = r.lostPerKill.map((lost, i) => (lost / r.killedRps[i]) * 1000);
  const meanWindow = windows.reduce((a, b) => a + b, 0) / r.kills;
  rows.push([
    `(kill) requests lost per SIGKILL of a worker, ${r.kills} kills under load, no scrapes between (filesystem)`,
    `${r.publishIntervalMs} ms of the worker's traffic (the publish interval)`,
    `${mean.toFixed(1)} requests (${r.lostPerKill.join(", ")}), ${
      windows.map((w) => w.toFixed(0)).join(", ")
    } ms of traffic`,
    `mean ${meanWindow.toFixed(0)} ms, worst ${Math.max(...windows).toFixed(0)} ms: ${
      (meanWindow / r.publishIntervalMs).toFixed(2)
    }x / ${(Math.max(...windows) / r.publishIntervalMs).toFixed(2)}x the interval`,
  ]);
  const worst = Math.max(...r.scrapeMsAfterKill);
  rows.push([
    "(kill) scrape latency right after a SIGKILL (supervisor flushes the ready workers, 250 ms deadline)",
    `${r.scrapeMsBefore.toFixed(1)} ms (median scrape, no kill)`,
    `${r.scrapeMsAfterKill.map((ms) => ms.toFixed(1)).join(", ")} ms`,
    `worst ${(worst / r.scrapeMsBefore).toFixed(1)}x (${worst.toFixed(0)} ms)`,
  ]);
}

console.log(
  `\nBenchmarks, ${new Date().toISOString().slice(0, 10)}, ${cpus().length} x ${
    cpus()[0]?.model ?? "cpu"
  }, Node ${process.version}\n`,
);
console.log(table(["benchmark", "baseline", "this library", "ratio"], rows));
// Machine-readable: the table, and every benchmark's own result (for HTTP, every variant's
// throughput and every ratio, with its spread over the rounds).
mkdirSync(".bench-results", { recursive: true });
const path = join(".bench-results", `bench-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
writeFileSync(
  path,
  JSON.stringify(
    { date: new Date().toISOString(), cpus: cpus().length, node: process.version, rows, results },
    null,
    2,
  ),
);
console.log(`\nResults as JSON: ${path}`);
