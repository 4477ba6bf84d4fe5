/**
 * The fault catalogue, continued: storage that loses its data or stops answering, one row each, on
 * every backend the fault applies to, with real parts (redis-server flushed, restarted empty,
 * keys deleted one kind at a time, evicted under maxmemory, expired by a short TTL; the Upstash
 * REST gateway in front of a redis-server; a metrics directory removed; a TCP listener that never
 * answers). What the library owes: the aggregate exact again within a publish or two, and no scrape
 * that ever serves a counter lower than an earlier one.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Hono } from "hono";
import { Counter, createExporter, metricsHandler, prometheus, Registry } from "../mod.ts";
import { internals } from "../src/core/exporter/exporter.ts";
import type { Storage } from "../src/core/storage.ts";
import { FilesystemStorage } from "../src/storage/filesystem/storage.ts";
import { RedisStorage } from "../src/storage/redis.ts";
import { UpstashStorage } from "../src/storage/upstash.ts";
import { until } from "./support/poll.ts";
import { commandFor, freePort } from "./support/runtime.ts";
import { type SilentListener, startSilentListener } from "./support/silent.ts";
import { start } from "./support/spawn.ts";
import { deleteKeys, type RedisServer, startRedis } from "./support/redis.ts";
import { RespClient } from "./support/resp.ts";
import { MemoryLogger, sample, sumOf } from "./support/sim.ts";
import { type Gateway, startGateway } from "./support/upstash_gateway.ts";

/** The app's requests in a scrape (its own scrapes are counted too, under route /metrics). */
function requests(text: string): number {
  let total = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith("hono_worker_requests_total{") && line.includes('route="/users/:id"')) {
      total += Number(line.slice(line.lastIndexOf(" ") + 1));
    }
  }
  return total;
}

/** One simulated process: its own registry, identity, storage client and app with /metrics. */
function instance(storage: Storage, options: { ttlMs?: number } = {}) {
  const logger = new MemoryLogger();
  const exporter = createExporter({
    registry: new Registry(),
    storage,
    metricsServer: false,
    logger,
    minScrapeIntervalMs: 0,
    publishIntervalMs: 100,
    staleAfterMs: 300,
    deadAfterMs: options.ttlMs === undefined ? 600 : Math.min(600, options.ttlMs - 1),
  });
  const app = new Hono();
  app.use(prometheus({ exporter }));
  app.get("/users/:id", (c) => c.text("ok"));
  app.get("/metrics", metricsHandler(exporter));
  let served = 0;
  return {
    exporter,
    logger,
    storage,
    async serve(n: number) {
      for (let i = 0; i < n; i++) assert.equal((await app.request(`/users/${i}`)).status, 200);
      served += n;
    },
    get served() {
      return served;
    },
    scrape: (headers: Record<string, string> = {}) => app.request("/metrics", { headers }),
  };
}
type Instance = ReturnType<typeof instance>;

/**
 * Scrapes `via` until its total of requests is `expected`, failing if any scrape that answered 200
 * showed less than one before it (a counter reset for Prometheus) or more than `expected`.
 * Returns how long it took, in ms.
 */
async function exactAgain(via: Instance, expected: number, timeoutMs = 10_000): Promise<number> {
  const started = performance.now();
  let last = -1;
  let seen: number | undefined;
  await until(
    `the aggregate to be ${expected} again`,
    async () => {
      const res = await via.scrape();
      if (res.status !== 200) {
        await res.body?.cancel();
        return false;
      }
      const total = requests(await res.text());
      assert.ok(total >= last, `a scrape served ${total} after ${last}: a counter went backwards`);
      assert.ok(total <= expected, `a scrape served ${total}, more than the ${expected} requests served`);
      last = seen = total;
      return total === expected;
    },
    timeoutMs,
    25,
  ).catch((error) => {
    throw new Error(`${error.message} (last served: ${seen})`);
  });
  return performance.now() - started;
}

/**
 * Two live instances and a third that exited and was retired, all over storages `make` builds;
 * each has served requests, and the aggregate is exact. The retired total is in storage and the
 * live instances know it.
 */
async function cluster(make: () => Storage, options: { ttlMs?: number } = {}) {
  const [a, b, c] = [instance(make(), options), instance(make(), options), instance(make(), options)];
  await Promise.all([a.exporter.whenReady(), b.exporter.whenReady(), c.exporter.whenReady()]);
  await c.serve(7);
  await c.exporter.onExit();
  await a.serve(5);
  await b.serve(3);
  await until("the exited instance to be retired", async () => {
    const text = await (await a.scrape()).text();
    return (sample(text, `hono_exporter_retired_processes_total{backend="${a.storage.kind}"}`) ?? 0) >= 1;
  });
  await exactAgain(a, 15);
  return {
    a,
    b,
    total: () => a.served + b.served + c.served,
    async stop() {
      await Promise.all([a.exporter.onExit(), b.exporter.onExit()]);
      await Promise.all([a.storage.close(), b.storage.close(), c.storage.close()]);
    },
  };
}

/**
 * Runs `lose` on a cluster over `make`, serves more, and checks both instances are exact again;
 * `noticed`: the loss took what a process had published (not only one of two copies).
 */
async function survives(
  make: () => Storage,
  lose: (nodes: Awaited<ReturnType<typeof cluster>>) => Promise<void>,
  noticed = true,
) {
  const nodes = await cluster(make);
  try {
    await lose(nodes);
    await nodes.a.serve(4);
    await nodes.b.serve(2);
    const ms = await exactAgain(nodes.a, nodes.total());
    await exactAgain(nodes.b, nodes.total());
    console.log(`${nodes.a.storage.kind}: exact again ${Math.round(ms)} ms after the loss (publish interval 100 ms)`);
    const text = await (await nodes.a.scrape()).text();
    const kind = nodes.a.storage.kind;
    const resets = sumOf(text, "hono_exporter_storage_resets_total");
    if (noticed) assert.ok(resets >= 1, `the loss was noticed and counted (${resets})`);
    else assert.equal(resets, 0, "nothing a process published was lost: the other copy serves");
    assert.equal(sample(text, `hono_exporter_reset_series_total{backend="${kind}"}`), 0, "no reset was served");
    const said = [...nodes.a.logger.lines, ...nodes.b.logger.lines].filter((l) => /had lost/.test(l));
    if (noticed) assert.ok(said.length >= 1, "one line says what was lost and what was put back");
    return ms;
  } finally {
    await nodes.stop();
  }
}

let prefixes = 0;
const roots: string[] = [];
after(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

/** Runs one command on database `db` of the server at `port`. */
async function command(port: number, db: number, ...args: Array<string | number>): Promise<unknown> {
  const client = await RespClient.connect(port);
  try {
    return (await client.send([["SELECT", db], args]))[1];
  } finally {
    client.close();
  }
}

describe("fault catalogue: Redis over TCP loses its data", () => {
  const db = 4;
  let redis: RedisServer;
  before(async () => void (redis = await startRedis()));
  after(() => redis?.stop());
  const redisCommand = (...args: Array<string | number>) => command(redis.port, 0, ...args);
  const keysOf = async (prefix: string) => (await command(redis.port, db, "KEYS", `{${prefix}}:*`)) as string[];
  const redisStorage = (prefix: string, ttlMs?: number) => () =>
    new RedisStorage({ url: `redis://127.0.0.1:${redis.port}/${db}`, keyPrefix: prefix, ttlMs, timeoutMs: 1000 });

  test("FLUSHALL: exact again, no counter served lower, the retired total put back", async () => {
    await survives(redisStorage(`flush${++prefixes}`), () => redisCommand("FLUSHALL").then(() => {}));
  });

  test("an empty restart of redis-server: exact again, no counter served lower", async () => {
    await survives(redisStorage(`restart${++prefixes}`), () => redis.restart());
  });

  // The retired total is kept in two copies, and the version is only a compare-and-set token:
  // losing one of them loses no count, and needs no process to publish again.
  for (
    const [kind, noticed] of [["procs", true], ["series:*", true], ["desc", true], ["retired", false], [
      "retired:copy",
      false,
    ], ["version", false]] as const
  ) {
    test(`DEL of ${kind}: exact again, no counter served lower`, async () => {
      const prefix = `del${++prefixes}`;
      const lose = () => deleteKeys(redis.port, `{${prefix}}:${kind}`, db).then((n) => assert.ok(n >= 1));
      await survives(redisStorage(prefix), lose, noticed);
    });
  }

  test("DEL of both copies of the retired total (the version kept): put back by the processes that know it", async () => {
    const prefix = `copies${++prefixes}`;
    await survives(redisStorage(prefix), async () => {
      assert.equal(await deleteKeys(redis.port, `{${prefix}}:retired*`, db), 2);
    });
  });

  test("a descriptor and a process record that do not read: skipped, and the log line names both", async () => {
    const prefix = `damage${++prefixes}`;
    const node = instance(redisStorage(prefix)());
    try {
      await node.serve(3);
      await command(redis.port, db, "HSET", `{${prefix}}:desc`, "broken_total", "{not json");
      await command(redis.port, db, "HSET", `{${prefix}}:procs`, "stray", "not-a-heartbeat");
      const res = await node.scrape();
      assert.equal(res.status, 200);
      assert.equal(requests(await res.text()), 3, "the rest counts");
      const line = node.logger.lines.find((l) => /record\(s\) that do not read/.test(l)) ?? "";
      assert.match(line, /the descriptor of broken_total is not JSON/);
      assert.match(line, /the record of process stray does not read \("not-a-heartbeat"\)/);
    } finally {
      await node.storage.close();
    }
  });

  test("DEL of desc when the processes declare different metrics: each one's descriptors come back", async () => {
    const prefix = `desc${++prefixes}`;
    const nodes = await cluster(redisStorage(prefix));
    try {
      const jobs = new Counter({
        name: "jobs_total",
        help: "Jobs.",
        registers: [internals(nodes.b.exporter).registry],
      });
      jobs.inc(4);
      const jobsOf = async (via: Instance) => sample(await (await via.scrape()).text(), "jobs_total");
      // Seen by b's scrape only: a, which repairs the loss below, never read b's descriptor.
      await until("b's own metric in the aggregate", async () => await jobsOf(nodes.b) === 4);
      const b = internals(nodes.b.exporter).publisher;
      b.stop();
      assert.equal(await deleteKeys(redis.port, `{${prefix}}:desc`, db), 1);
      await nodes.a.exporter.flush(); // a notices, and puts back the descriptors it knows
      b.start(100); // b finds its record intact, and the loss epoch changed: it resends its own
      await nodes.a.serve(1);
      await exactAgain(nodes.a, nodes.total());
      await until("b's own metric back in the aggregate", async () => await jobsOf(nodes.a) === 4);
    } finally {
      await nodes.stop();
    }
  });

  test("one process's series deleted while it is idle: back without new traffic", async () => {
    const prefix = `idle${++prefixes}`;
    const nodes = await cluster(redisStorage(prefix));
    try {
      const id = internals(nodes.b.exporter).identity.id;
      assert.equal(await deleteKeys(redis.port, `{${prefix}}:series:${id}`, db), 1);
      await exactAgain(nodes.a, nodes.total());
    } finally {
      await nodes.stop();
    }
  });

  test("keys evicted under maxmemory: exact again once memory is free", async () => {
    const prefix = `evict${++prefixes}`;
    const nodes = await cluster(redisStorage(prefix));
    try {
      const info = String(await redisCommand("INFO", "memory"));
      const used = Number(/used_memory:(\d+)/.exec(info)![1]);
      await redisCommand("CONFIG", "SET", "maxmemory-policy", "allkeys-random");
      await redisCommand("CONFIG", "SET", "maxmemory", used + 256 * 1024);
      const stored = (await keysOf(prefix)).length;
      const filler = await RespClient.connect(redis.port);
      try {
        await until(
          "some of the exporter's keys to be evicted",
          async () => {
            await filler.send(
              Array.from({ length: 50 }, (_, i) => ["SET", `filler:${Math.random()}:${i}`, "x".repeat(2000)]),
            );
            return (await keysOf(prefix)).length < stored;
          },
          20_000,
          1,
        );
      } finally {
        filler.close();
        await redisCommand("CONFIG", "SET", "maxmemory", 0);
        await redisCommand("FLUSHDB"); // the filler, in database 0
      }
      await nodes.a.serve(1);
      await exactAgain(nodes.a, nodes.total());
    } finally {
      await nodes.stop();
    }
  });

  test("keys expired by a short TTL while the processes were idle: exact again at their next publish", async () => {
    const prefix = `ttl${++prefixes}`;
    const nodes = await cluster(redisStorage(prefix, 1500), { ttlMs: 1500 });
    try {
      internals(nodes.a.exporter).publisher.stop(); // idle: no publish, so nothing refreshes the keys
      internals(nodes.b.exporter).publisher.stop();
      const live = async () => (await keysOf(prefix)).filter((key) => !key.includes(":tomb:"));
      await until(
        "every key of the prefix but the tombstone to expire",
        async () => (await live()).length === 0,
        10_000,
        100,
      );
      await nodes.b.exporter.flush();
      await exactAgain(nodes.a, nodes.total());
    } finally {
      await nodes.stop();
    }
  });
});

describe("fault catalogue: Upstash (REST gateway over a real redis-server) loses its data", () => {
  let redis: RedisServer;
  let gateway: Gateway;
  before(async () => {
    redis = await startRedis();
    gateway = await startGateway(redis.port);
  });
  after(async () => {
    await gateway?.stop();
    await redis?.stop();
  });

  test("FLUSHALL behind the REST endpoint: exact again, no counter served lower", async () => {
    const prefix = `up${++prefixes}`;
    await survives(
      () => new UpstashStorage({ url: gateway.url, token: gateway.token, keyPrefix: prefix, timeoutMs: 1000 }),
      () => command(redis.port, 0, "FLUSHALL").then(() => {}),
    );
  });
});

describe("fault catalogue: the metrics directory loses its files", () => {
  const directory = () => {
    const root = mkdtempSync(join(tmpdir(), "hpe-loss-"));
    roots.push(root);
    return join(root, "metrics");
  };

  test("removed: made again, exact again, no counter served lower", async () => {
    const dir = directory();
    await survives(() => new FilesystemStorage({ directory: dir }), () => {
      rmSync(dir, { recursive: true, force: true });
      return Promise.resolve();
    });
  });

  test("both copies of the retired total removed: put back by the process that read them", async () => {
    const dir = directory();
    await survives(() => new FilesystemStorage({ directory: dir }), () => {
      for (const name of ["retired-a.json", "retired-b.json"]) rmSync(join(dir, name));
      return Promise.resolve();
    });
  });

  test("removed and made again empty: exact again, no counter served lower", async () => {
    const dir = directory();
    await survives(() => new FilesystemStorage({ directory: dir }), () => {
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir);
      return Promise.resolve();
    });
  });
});

describe("fault catalogue: a full disk", () => {
  // A small tmpfs, mounted for the test (needs root, as CI has): the disk really fills up.
  const root = mkdtempSync(join(tmpdir(), "hpe-full-"));
  roots.push(root);
  const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "size=256k", "tmpfs", root]).status === 0;
  after(() => {
    if (mounted) spawnSync("umount", [root]);
  });

  test("publishes fail while it is full, then all arrive: no healthy log set aside, no empty files left", {
    skip: mounted ? false : "mounting a small tmpfs needs root",
  }, async () => {
    const dir = join(root, "metrics");
    const nodes = await cluster(() => new FilesystemStorage({ directory: dir }));
    try {
      let filled = 0;
      try {
        for (;; filled++) writeFileSync(join(root, `filler-${filled}`), "x".repeat(4096));
      } catch (error) {
        assert.equal((error as { code?: string }).code, "ENOSPC");
      }
      await nodes.a.serve(20);
      await nodes.b.serve(10);
      await until(
        "publishes to fail on the full disk",
        () => {
          const text = nodes.a.logger.lines.join("\n");
          return /publishing to filesystem storage failed/.test(text);
        },
        10_000,
        50,
      );
      for (let i = 0; i < filled; i++) rmSync(join(root, `filler-${i}`));
      await exactAgain(nodes.a, nodes.total());
      await exactAgain(nodes.b, nodes.total());
      const left = readdirSync(dir).filter((name) => name.endsWith(".bad") || name.includes(".tmp-"));
      assert.deepEqual(left, [], "nothing set aside or left behind");
    } finally {
      await nodes.stop();
    }
  });
});

describe("fault catalogue: storage that accepts connections and never answers", () => {
  let silent: SilentListener;
  let port = 0;
  before(async () => void ({ port } = silent = await startSilentListener()));
  after(() => silent?.stop());

  const backends: Array<[string, () => Storage]> = [
    ["Redis over TCP", () => new RedisStorage({ url: `redis://127.0.0.1:${port}`, timeoutMs: 5000 })],
    ["Upstash", () => new UpstashStorage({ url: `http://127.0.0.1:${port}`, token: "t", timeoutMs: 5000 })],
  ];
  for (const [name, make] of backends) {
    test(`${name}: a scrape with a 2 s timeout answers 503 within 2.5 s, and the next one does not queue`, async () => {
      const node = instance(make());
      try {
        await node.serve(2);
        for (let i = 0; i < 2; i++) {
          const started = performance.now();
          const res = await node.scrape({ "X-Prometheus-Scrape-Timeout-Seconds": "2" });
          const ms = performance.now() - started;
          assert.equal(res.status, 503);
          assert.match(await res.text(), /no answer from \w+:\/\/127\.0\.0\.1:\d+(\/\d+)? within 1800 ms/);
          assert.ok(ms <= 2500, `answered after ${Math.round(ms)} ms`);
        }
        const started = performance.now();
        const res = await node.scrape();
        assert.equal(res.status, 503);
        await res.body?.cancel();
        assert.ok(performance.now() - started <= 5500, "without the header, within the storage's timeoutMs");
      } finally {
        await node.storage.close();
      }
    });
  }
});

describe("fault catalogue: SIGTERM while storage is out", () => {
  let silent: SilentListener;
  before(async () => void (silent = await startSilentListener()));
  after(() => silent?.stop());

  const outages: Array<[string, () => Promise<number>]> = [
    ["refusing connections", () => freePort()],
    ["accepting connections and never answering", () => Promise.resolve(silent.port)],
  ];
  const backends: Array<[string, (port: number) => Record<string, string>]> = [
    ["redis", (port) => ({ REDIS_URL: `redis://127.0.0.1:${port}` })],
    ["upstash", (port) => ({ UPSTASH_REDIS_REST_URL: `http://127.0.0.1:${port}` })],
  ];
  for (const [backend, vars] of backends) {
    for (const [name, port] of outages) {
      test(`${backend} ${name}: the process exits within shutdownTimeoutMs and says what it could not deliver`, async () => {
        const [command, args] = commandFor("tests/support/fixtures/shutdown_outage.ts");
        const app = await start(command, args, { ...vars(await port()), SHUTDOWN_TIMEOUT_MS: "1500" }, /ready/);
        const started = performance.now();
        const code = await app.stop("SIGTERM");
        const ms = performance.now() - started;
        assert.equal(code, 0);
        assert.ok(ms >= 1000 && ms < 4000, `exited after ${Math.round(ms)} ms`);
        const lines = app.output().split("\n").filter((l) => l.includes("final publish"));
        assert.equal(lines.length, 1, app.output());
        assert.match(
          lines[0],
          new RegExp(
            `final publish to ${backend} storage failed \\(.+\\) until the shutdown deadline \\(shutdownTimeoutMs\\): ` +
              "\\d+ series recorded since the last delivered publish are lost, among them 25 request\\(s\\)",
          ),
        );
        assert.doesNotMatch(app.output(), /hook workerInt failed/, "one line, not one per step");
      });
    }
  }
});
