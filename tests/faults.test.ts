/**
 * The fault catalogue: bad input and faults of every kind, one row each, with the exact behaviour
 * the library owes: a clear error that names what to fix, or safe service with nothing lost.
 * Rows are grouped by where the fault comes from; each row is one test.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { Hono } from "hono";
import { createExporter, metricsHandler, prometheus, Registry } from "../mod.ts";
import { createExporter as createNodeExporter } from "../src/adapter/node/index.ts";
import { resolveConfig } from "../src/core/config/config.ts";
import { envFromObject } from "../src/core/env.ts";
import { ConfigError } from "../src/core/errors.ts";
import { Counter, Gauge } from "../src/core/values/metrics.ts";
import { negotiateFormat } from "../src/core/render/render.ts";
import type { Storage } from "../src/core/storage.ts";
import { FilesystemStorage } from "../src/storage/filesystem/storage.ts";
import { sealLine } from "../src/storage/filesystem/format.ts";
import { chooseStorage } from "../src/storage/drivers.ts";
import { HOST_PLACE } from "../src/storage/host_place.ts";
import { UpstashStorage } from "../src/storage/redis/upstash_storage.ts";
import { freePort } from "./support/runtime.ts";
import { promtoolCheck } from "./support/promtool.ts";
import { MemoryLogger, sample } from "./support/sim.ts";

const roots: string[] = [];
after(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});
function tempDir(): string {
  const root = mkdtempSync(join(tmpdir(), "hpe-faults-"));
  roots.push(root);
  return join(root, "metrics");
}

/** An app with the middleware and /metrics over `storage`, and a way to scrape it. */
function appOver(storage: Storage, options: { metricsToken?: string; registry?: Registry } = {}) {
  const logger = new MemoryLogger();
  const exporter = createExporter({
    registry: options.registry ?? new Registry(),
    storage,
    metricsServer: false,
    logger,
    minScrapeIntervalMs: 0,
    metricsToken: options.metricsToken,
  });
  const app = new Hono();
  app.use(prometheus({ exporter }));
  app.get("/users/:id", (c) => c.text("ok"));
  app.get("/metrics", metricsHandler(exporter));
  const scrape = (headers: Record<string, string> = {}) => app.request("/metrics", { headers });
  return { exporter, app, logger, scrape };
}

/** Publishes `value` for the counter `c_total` as process `id` through a storage of its own. */
async function publishCounter(directory: string, id: string, value: number, heartbeat = Date.now()): Promise<void> {
  await new FilesystemStorage({ directory }).publish({
    processId: id,
    heartbeat,
    exited: false,
    descriptors: new Map([["c_total", { type: "counter", help: "c" }]]),
    series: new Map([["c_total", String(value)]]),
  });
}

function configError(setting: string, message: RegExp): (e: unknown) => boolean {
  return (e: unknown) => e instanceof ConfigError && e.setting === setting && message.test(e.message);
}

const env = envFromObject;

describe("fault catalogue: environment variables", () => {
  const rows: Array<[string, Record<string, string>, string, RegExp]> = [
    ["a port that is not a number", { PROMETHEUS_METRICS_PORT: "http" }, "PROMETHEUS_METRICS_PORT", /0 to 65535/],
    ["a port out of range", { PROMETHEUS_METRICS_PORT: "70000" }, "PROMETHEUS_METRICS_PORT", /0 to 65535/],
    ["a bind address with a space", { PROMETHEUS_BIND_ADDRESS: "a b" }, "PROMETHEUS_BIND_ADDRESS", /host name/],
    ["a boolean that is not one", { PROMETHEUS_METRICS_SERVER: "sometimes" }, "PROMETHEUS_METRICS_SERVER", /boolean/],
    [
      "public metrics set to a non-boolean",
      { PROMETHEUS_METRICS_PUBLIC: "perhaps" },
      "PROMETHEUS_METRICS_PUBLIC",
      /boolean/,
    ],
    ["an empty worker id", { PROMETHEUS_WORKER_ID: "" }, "PROMETHEUS_WORKER_ID", /./],
  ];
  for (const [name, vars, setting, message] of rows) {
    test(`${name}: a ConfigError naming ${setting}`, () => {
      assert.throws(() => resolveConfig({}, env(vars)), configError(setting, message));
    });
  }

  const storageRows: Array<[string, Record<string, string>, string, RegExp]> = [
    ["REDIS_ENABLED that is not a boolean", { REDIS_ENABLED: "maybe" }, "REDIS_ENABLED", /"maybe"/],
    [
      "a negative TTL",
      {
        REDIS_ENABLED: "true",
        UPSTASH_REDIS_REST_URL: "http://127.0.0.1:1",
        UPSTASH_REDIS_REST_TOKEN: "t",
        REDIS_TTL_SECONDS: "-1",
      },
      "REDIS_TTL_SECONDS",
      /./,
    ],
    [
      "a key prefix with a space",
      {
        REDIS_ENABLED: "true",
        UPSTASH_REDIS_REST_URL: "http://127.0.0.1:1",
        UPSTASH_REDIS_REST_TOKEN: "t",
        REDIS_KEY_PREFIX: "a b",
      },
      "REDIS_KEY_PREFIX",
      /./,
    ],
    [
      "Upstash on with no URL",
      { REDIS_ENABLED: "true", UPSTASH_REDIS_REST_TOKEN: "t" },
      "UPSTASH_REDIS_REST_URL",
      /./,
    ],
  ];
  for (const [name, vars, setting, message] of storageRows) {
    test(`${name}: a ConfigError naming ${setting}`, () => {
      assert.throws(() => chooseStorage(env(vars), {}, HOST_PLACE), configError(setting, message));
    });
  }

  test("an Upstash URL that is not one: a ConfigError that never shows the token", () => {
    const token = "secret-token-123";
    assert.throws(
      () =>
        chooseStorage(
          env({ REDIS_ENABLED: "true", UPSTASH_REDIS_REST_URL: "not a url", UPSTASH_REDIS_REST_TOKEN: token }),
          {},
          HOST_PLACE,
        ),
      (e: unknown) => e instanceof ConfigError && e.setting === "UPSTASH_REDIS_REST_URL" && !e.message.includes(token),
    );
  });

  test("a metrics token with a space: a ConfigError that never shows the token", () => {
    const app = () => appOver(new FilesystemStorage({ directory: tempDir() }), { metricsToken: "my secret" });
    assert.throws(app, (e: unknown) => e instanceof ConfigError && !e.message.includes("my secret"));
  });
});

describe("fault catalogue: option values", () => {
  const rows: Array<[string, Record<string, unknown>, string, RegExp]> = [
    ["a namespace that is not a metric name", { namespace: "1bad" }, "namespace", /not a valid metric name prefix/],
    ["a negative publish interval", { publishIntervalMs: -5 }, "publishIntervalMs", /expected milliseconds/],
    [
      "deadAfterMs below staleAfterMs",
      { staleAfterMs: 5000, deadAfterMs: 1000 },
      "deadAfterMs",
      /at least staleAfterMs/,
    ],
    ["an unknown gauge mode", { gaugeModes: { g: "avg" } }, "gaugeModes.g", /unknown multiprocess mode "avg"/],
    ["a series limit of 0", { seriesLimit: 0 }, "seriesLimit", /whole number/],
    ["a flush window that is not a number", { flushWindowMs: "soon" }, "flushWindowMs", /./],
    ["a negative minimum scrape interval", { minScrapeIntervalMs: -1 }, "minScrapeIntervalMs", /./],
  ];
  for (const [name, options, setting, message] of rows) {
    test(`${name}: a ConfigError naming ${setting}`, () => {
      assert.throws(() => resolveConfig(options, env({})), configError(setting, message));
    });
  }
});

describe("fault catalogue: metric and label names and values", () => {
  test("an invalid label name is refused at declaration, naming it", () => {
    assert.throws(
      () => new Counter({ name: "bad_labels_total", help: "h", labelNames: ["bad-name"], registers: [] }),
      configError("bad_labels_total labelNames", /"bad-name" is not a valid label name/),
    );
  });

  test("an invalid metric name is refused at declaration, naming it", () => {
    assert.throws(
      () => new Counter({ name: "bad name", help: "h", registers: [] }),
      configError("Counter name", /"bad name" is not a valid metric name/),
    );
  });

  test("a 1 MB label value: that series is not published (counted, said once); the others are", async () => {
    const registry = new Registry();
    const jobs = new Counter({ name: "jobs_total", help: "Jobs.", labelNames: ["kind"], registers: [registry] });
    const { exporter, scrape, logger } = appOver(new FilesystemStorage({ directory: tempDir() }), { registry });
    jobs.inc({ kind: "x".repeat(1 << 20) });
    jobs.inc({ kind: "small" }, 2);
    await scrape(); // the publish of this scrape drops the series and counts it, shown from the next
    const text = await (await scrape()).text();
    assert.equal(sample(text, 'jobs_total{kind="small"}'), 2);
    assert.ok(text.length < 100_000, `${text.length} bytes exposed`);
    const dropped = sample(text, 'hono_exporter_series_dropped_total{metric="jobs_total",reason="too_long"}');
    assert.ok(dropped !== undefined && dropped >= 1, `dropped ${dropped}`);
    assert.equal(logger.lines.filter((l) => l.includes("longer than 4096 characters")).length, 1);
    await exporter.onExit();
  });

  test("a counter dup beside a gauge dup_total: one is left out, the exposition parses, the clash is said", async () => {
    const registry = new Registry();
    new Counter({ name: "dup", help: "c", registers: [registry] }).inc(3);
    new Gauge({ name: "dup_total", help: "g", registers: [registry] }).set(5);
    const { exporter, scrape, logger } = appOver(new FilesystemStorage({ directory: tempDir() }), { registry });
    const open = await (await scrape({ accept: "application/openmetrics-text; version=1.0.0" })).text();
    assert.doesNotMatch(open, /# TYPE dup_total/);
    assert.equal(sample(open, "dup_total"), 3, "the counter, first in name order, is kept");
    const text = await (await scrape()).text();
    // It parses; promtool's only remark is its naming advice about the user's counter.
    assert.match(promtoolCheck(text), /^(dup counter metrics should have "_total" suffix\s*)?$/);
    assert.equal(sample(text, "dup"), 3);
    assert.match(logger.lines.join("\n"), /metric dup_total \(gauge\) is left out: .*collides with metric dup/);
    await exporter.onExit();
  });

  test("label values with quotes, backslashes and newlines are escaped (promtool is clean)", async () => {
    const registry = new Registry();
    new Counter({ name: "odd_total", help: "h", labelNames: ["v"], registers: [registry] }).inc({ v: 'a"b\\c\nd' });
    const { exporter, scrape } = appOver(new FilesystemStorage({ directory: tempDir() }), { registry });
    const text = await (await scrape()).text();
    assert.match(text, /^odd_total\{v="a\\"b\\\\c\\nd"\} 1$/m);
    assert.equal(promtoolCheck(text), "");
    await exporter.onExit();
  });
});

describe("fault catalogue: stored files", () => {
  test("a garbage line in a process log: skipped, reported, the process asked to repair; the rest counts", async () => {
    const dir = tempDir();
    await publishCounter(dir, "a", 4);
    writeFileSync(join(dir, "p-b.log"), sealLine({ h: Date.now(), s: { c_total: "3" } }) + "garbage\n");
    const { exporter, scrape } = appOver(new FilesystemStorage({ directory: dir }));
    const text = await (await scrape()).text();
    assert.equal(sample(text, "c_total"), 7);
    assert.equal(sample(text, 'hono_exporter_storage_damaged_entries{backend="filesystem",kind="corrupt"}'), 1);
    assert.ok(readdirSync(dir).includes("r-b.repair"));
    await exporter.onExit();
  });

  test("a line whose checksum fails is not applied: its old value stands", async () => {
    const dir = tempDir();
    const good = sealLine({ h: 1, s: { c_total: "3" } });
    const forged = sealLine({ h: 2, s: { c_total: "1" } }).replace('"1"', '"9"');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "p-b.log"), good + forged);
    const state = await new FilesystemStorage({ directory: dir }).read();
    assert.equal(state.processes[0].series.get("c_total"), "3");
    assert.equal(state.corrupt, 1);
  });

  test("a process whose own log was truncated republishes its full state at its next publish", async () => {
    const dir = tempDir();
    const storage = new FilesystemStorage({ directory: dir });
    const d = new Map([["c_total", { type: "counter" as const, help: "c" }]]);
    await storage.publish({
      processId: "a",
      heartbeat: 1,
      exited: false,
      descriptors: d,
      series: new Map([['c_total{r="1"}', "5"]]),
    });
    await storage.publish({
      processId: "a",
      heartbeat: 2,
      exited: false,
      descriptors: new Map(),
      series: new Map([['c_total{r="2"}', "7"]]),
    });
    truncateSync(join(dir, "p-a.log"), 10);
    await storage.publish({
      processId: "a",
      heartbeat: 3,
      exited: false,
      descriptors: new Map(),
      series: new Map([['c_total{r="2"}', "8"]]),
    });
    const state = await new FilesystemStorage({ directory: dir }).read();
    const a = state.processes.find((p) => p.id === "a")!;
    assert.equal(a.series.get('c_total{r="1"}'), "5", "the series only the lost line held is back");
    assert.equal(a.series.get('c_total{r="2"}'), "8");
    assert.equal(state.corrupt, 0);
    assert.equal(state.setAside, 1, "the damaged log is kept as a .bad file");
  });

  test("one copy of the retired total garbled: no count lost", async () => {
    const dir = tempDir();
    const storage = new FilesystemStorage({ directory: dir });
    await publishCounter(dir, "a", 5, 1);
    const state = await storage.read();
    await storage.retire({
      expectedVersion: state.retiredVersion,
      processes: [{ id: "a", heartbeat: 1 }],
      retiredUpdates: new Map([["c_total", "5"]]),
    });
    writeFileSync(join(dir, "retired-b.json"), "\u0000\u0000");
    assert.equal((await storage.read()).retired.get("c_total"), "5");
  });

  test("one copy of the retired total truncated: no count lost", async () => {
    const dir = tempDir();
    const storage = new FilesystemStorage({ directory: dir });
    await publishCounter(dir, "a", 6, 1);
    const state = await storage.read();
    await storage.retire({
      expectedVersion: state.retiredVersion,
      processes: [{ id: "a", heartbeat: 1 }],
      retiredUpdates: new Map([["c_total", "6"]]),
    });
    truncateSync(join(dir, "retired-a.json"), 15);
    assert.equal((await storage.read()).retired.get("c_total"), "6");
  });

  test("both copies of the retired total damaged: 503 naming both files, never counters going backwards", async () => {
    const dir = tempDir();
    await publishCounter(dir, "a", 1);
    writeFileSync(join(dir, "retired-a.json"), "x\n");
    writeFileSync(join(dir, "retired-b.json"), "y\n");
    const { exporter, scrape } = appOver(new FilesystemStorage({ directory: dir }));
    const res = await scrape();
    assert.equal(res.status, 503);
    assert.match(await res.text(), /retired-a\.json, .*retired-b\.json/);
    await exporter.onExit();
  });

  test("a damaged tombstone: the publish fails naming the file, rather than count a retired process twice", async () => {
    const dir = tempDir();
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "t-a.json"), "{not sealed}\n");
    await assert.rejects(publishCounter(dir, "a", 1), /t-a\.json is damaged/);
  });
});

describe("fault catalogue: directory entries", () => {
  const entries: Array<[string, (path: string) => void, RegExp]> = [
    ["a directory named like a log", (path) => mkdirSync(path), /is a directory/],
    ["a symbolic link named like a log", (path) => symlinkSync("/etc/hostname", path), /is a symbolic link/],
    [
      "a foreign file",
      (path) => writeFileSync(path.replace("p-x.log", "notes.txt"), "hi"),
      /not a file of this exporter/,
    ],
  ];
  entries.push([
    "a FIFO named like a log (no scrape may hang on it)",
    (path) => execFileSync("mkfifo", [path]),
    /is a FIFO|is not a regular file/, // Deno's Dirent does not tell a FIFO from other special files
  ]);
  for (const [name, make, message] of entries) {
    test(`${name}: skipped and reported; the scrape answers 200 with every count`, async () => {
      const dir = tempDir();
      await publishCounter(dir, "a", 2);
      make(join(dir, "p-x.log"));
      const { exporter, scrape, logger } = appOver(new FilesystemStorage({ directory: dir }));
      const res = await scrape();
      assert.equal(res.status, 200);
      const text = await res.text();
      assert.equal(sample(text, "c_total"), 2);
      assert.equal(sample(text, 'hono_exporter_storage_damaged_entries{backend="filesystem",kind="stray"}'), 1);
      assert.match(logger.lines.join("\n"), message);
      await exporter.onExit();
    });
  }
});

describe("fault catalogue: storage unreachable or unwritable", () => {
  test("a directory that reads but cannot be written (/proc/1): 503 naming the path, never an empty 200", async () => {
    const { exporter, app, scrape } = appOver(new FilesystemStorage({ directory: "/proc/1" }));
    assert.equal((await app.request("/users/1")).status, 200, "the app keeps serving");
    const res = await scrape();
    assert.equal(res.status, 503);
    assert.match(
      await res.text(),
      /\/proc\/1\/p-[^ ]+\.log.*PROMETHEUS_MULTIPROC_DIR must be a directory this process can write/,
    );
    await exporter.onExit();
  });

  test("PROMETHEUS_MULTIPROC_DIR naming a regular file: whenReady rejects with one ConfigError saying what to fix", async () => {
    const file = join(tempDir().replace(/metrics$/, ""), "a-file");
    writeFileSync(file, "");
    const logger = new MemoryLogger();
    const exporter = createNodeExporter({ registry: new Registry(), multiprocDir: file, metricsServer: false, logger });
    const app = new Hono();
    app.use(prometheus({ exporter }));
    app.get("/users/:id", (c) => c.text("ok"));
    app.get("/metrics", metricsHandler(exporter));
    await assert.rejects(
      exporter.whenReady(),
      configError("PROMETHEUS_MULTIPROC_DIR", /a-file is not a directory .*point PROMETHEUS_MULTIPROC_DIR/),
    );
    assert.equal(logger.lines.length, 1, `one line, not four:\n${logger.lines.join("\n")}`);
    assert.equal((await app.request("/users/1")).status, 200, "the app keeps serving");
    const res = await app.request("/metrics");
    assert.equal(res.status, 500, "a configuration that cannot work, not an outage to retry");
    assert.match(await res.text(), /ConfigError: PROMETHEUS_MULTIPROC_DIR: .*is not a directory/);
    assert.equal(logger.lines.length, 1, "nothing retried it");
    await exporter.onExit();
  });

  test("Upstash unreachable: the app serves, the scrape answers 503 with the cause and without the token", async () => {
    const port = await freePort();
    const token = "do-not-show-me";
    const { exporter, app, scrape } = appOver(
      new UpstashStorage({ url: `http://127.0.0.1:${port}`, token, timeoutMs: 500 }),
    );
    for (let i = 0; i < 5; i++) assert.equal((await app.request(`/users/${i}`)).status, 200);
    const res = await scrape();
    const body = await res.text();
    assert.equal(res.status, 503);
    assert.match(body, /upstash/);
    assert.doesNotMatch(body, new RegExp(token));
    await exporter.onExit();
  });
});

describe("fault catalogue: malformed or unwelcome HTTP", () => {
  const acceptRows: Array<[string | null, "openmetrics" | "prometheus"]> = [
    ["application/openmetrics-text;q=0", "prometheus"],
    ["application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.4,*/*;q=0.1", "openmetrics"],
    ["text/plain;q=1, application/openmetrics-text;q=0.2", "prometheus"],
    ["application/openmetrics-text;q=nonsense", "prometheus"],
    [null, "prometheus"],
  ];
  for (const [accept, format] of acceptRows) {
    test(`Accept: ${accept ?? "(none)"} gets the ${format} format`, () => {
      assert.equal(negotiateFormat(accept), format);
    });
  }

  test("a wrong bearer token: 401, not echoed, and no storage read", async () => {
    const { exporter, scrape } = appOver(new FilesystemStorage({ directory: tempDir() }), { metricsToken: "right" });
    const res = await scrape({ authorization: "Bearer wrong-guess" });
    assert.equal(res.status, 401);
    assert.doesNotMatch(await res.text(), /wrong-guess|right/);
    const ok = await scrape({ authorization: "Bearer right" });
    assert.equal(ok.status, 200);
    const reads = 'hono_exporter_storage_latency_seconds_count{backend="filesystem",operation="read"}';
    assert.equal(sample(await ok.text(), reads) ?? 0, 0, "the refused scrape read nothing");
    await exporter.onExit();
  });

  test("POST /metrics on the metrics server: 405 with Allow", async () => {
    const { exporter } = appOver(new FilesystemStorage({ directory: tempDir() }));
    const res = await exporter.fetch(new Request("http://x/metrics", { method: "POST" }));
    assert.equal(res.status, 405);
    assert.equal(res.headers.get("allow"), "GET, HEAD");
    await exporter.onExit();
  });
});
