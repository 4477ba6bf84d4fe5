/**
 * The Redis example in real processes on two runtimes, against real redis-server processes: one
 * server, a three-node Redis Cluster, a restart of the server under load, and a kill -9 followed
 * by retirement.
 */
import assert from "node:assert/strict";
import process from "node:process";
import { after, before, describe, test } from "node:test";
import { createExporterFor } from "../../src/adapter/entry/factory.ts";
import { webRuntime } from "../../src/core/runtime.ts";
import { Registry } from "../../src/core/values/metrics.ts";
import { RedisStorage } from "../../src/storage/redis.ts";
import { load } from "../support/load.ts";
import { until } from "../support/poll.ts";
import { type RedisCluster, type RedisServer, startRedis, startRedisCluster } from "../support/redis.ts";
import { commandOn, OTHER_RUNTIME, RUNTIME } from "../support/runtime.ts";
import { sample, sumOf } from "../support/sim.ts";
import { EXAMPLE_PORTS, reportedPorts, type Running, start } from "../support/spawn.ts";

/** The total the instance's /metrics shows, once it reaches `expected` (or the last one seen). */
async function settle(metricsUrl: string, expected: number, timeoutMs = 20_000): Promise<number | undefined> {
  let total: number | undefined;
  await until(
    `${metricsUrl} to show ${expected}`,
    async () => {
      const res = await fetch(metricsUrl).catch(() => undefined);
      if (res?.status === 200) total = sumOf(await res.text(), "hono_worker_requests_total");
      else await res?.body?.cancel();
      return total === expected;
    },
    timeoutMs,
    200,
  ).catch(() => {});
  return total;
}

describe(`the Redis example on ${RUNTIME} and ${OTHER_RUNTIME}, against real redis-server processes`, () => {
  let redis: RedisServer;
  let cluster: RedisCluster;
  const apps: Running[] = [];
  before(async () => {
    [redis, cluster] = await Promise.all([startRedis({ persistent: true }), startRedisCluster()]);
  });
  after(async () => {
    for (const app of apps) await app.stop("SIGKILL");
    await Promise.all([redis?.stop(), cluster?.stop()]);
  });

  async function instance(runtime: "node" | "bun" | "deno", vars: Record<string, string>) {
    const [command, args] = commandOn(runtime, "examples/redis/app.ts");
    const app = await start(command, args, {
      PORT: "0",
      HOST: "127.0.0.1",
      PROMETHEUS_METRICS_PORT: "0",
      PROMETHEUS_BIND_ADDRESS: "127.0.0.1",
      ...vars,
    }, EXAMPLE_PORTS);
    apps.push(app);
    const [appPort, metricsPort] = reportedPorts(app, EXAMPLE_PORTS);
    return { app, url: `http://127.0.0.1:${appPort}`, metrics: `http://127.0.0.1:${metricsPort}/metrics` };
  }

  test("two instances on two runtimes sharing one Redis: either one's /metrics shows the exact sum", async () => {
    const vars = { REDIS_URL: `redis://127.0.0.1:${redis.port}/5`, REDIS_KEY_PREFIX: `two-${RUNTIME}` };
    const [a, b] = await Promise.all([instance(RUNTIME, vars), instance(OTHER_RUNTIME, vars)]);
    const results = await Promise.all([load(a.url, 120), load(b.url, 80)]);
    assert.deepEqual(results.map((r) => r.failed), [0, 0]);
    assert.equal(await settle(a.metrics, 200), 200);
    assert.equal(await settle(b.metrics, 200), 200);
    const text = await (await fetch(a.metrics)).text();
    assert.equal(text.split("\n").filter((l) => /^hono_worker_state\{state="running",/.test(l)).length, 2);
  });

  test("the same on a three-node Redis Cluster, each instance given a different node", async () => {
    const prefix = `cluster-${RUNTIME}`;
    const [a, b] = await Promise.all([
      instance(RUNTIME, {
        REDIS_URL: `redis://127.0.0.1:${cluster.ports[0]}`,
        REDIS_CLUSTER: "true",
        REDIS_KEY_PREFIX: prefix,
      }),
      instance(OTHER_RUNTIME, {
        REDIS_URL: `redis://127.0.0.1:${cluster.ports[2]}`,
        REDIS_CLUSTER: "true",
        REDIS_KEY_PREFIX: prefix,
      }),
    ]);
    const results = await Promise.all([load(a.url, 70), load(b.url, 130)]);
    assert.deepEqual(results.map((r) => r.failed), [0, 0]);
    assert.equal(await settle(a.metrics, 200), 200);
    assert.equal(await settle(b.metrics, 200), 200);
  });

  test("a Redis restart under load: no app request fails, and every answered request is counted", async () => {
    const vars = { REDIS_URL: `redis://127.0.0.1:${redis.port}/6`, REDIS_KEY_PREFIX: `restart-${RUNTIME}` };
    const [a, b] = await Promise.all([instance(RUNTIME, vars), instance(OTHER_RUNTIME, vars)]);
    const progress = { answered: 0 };
    const loads = Promise.all([load(a.url, 600, 4, progress), load(b.url, 400, 4, progress)]);
    await until("100 requests answered before the restart", () => progress.answered >= 100);
    await redis.restart();
    const results = await loads;
    assert.deepEqual(results.map((r) => r.failed), [0, 0], "no app request failed");
    assert.equal(await settle(a.metrics, 1000, 30_000), 1000, "everything arrived once Redis was back");
    assert.equal(await settle(b.metrics, 1000, 30_000), 1000);
  });

  test("kill -9 of an instance, then retirement: its published counts stay, folded exactly once", async () => {
    const prefix = `retire-${RUNTIME}`;
    const vars = { REDIS_URL: `redis://127.0.0.1:${redis.port}/7`, REDIS_KEY_PREFIX: prefix };
    const [a, c] = await Promise.all([instance(RUNTIME, vars), instance(OTHER_RUNTIME, vars)]);
    await Promise.all([load(a.url, 90), load(c.url, 60)]);
    assert.equal(await settle(a.metrics, 150), 150, "both published"); // the scrape asked a to publish; c's interval
    process.kill(c.app.child.pid!, "SIGKILL");
    await c.app.stop("SIGKILL");
    assert.equal(await settle(a.metrics, 150), 150, "a killed process's published counts stay");
    await a.app.stop("SIGTERM");
    // A collector whose clock is ten minutes ahead: both processes are past deadAfterMs.
    const storage = new RedisStorage({ url: `redis://127.0.0.1:${redis.port}/7`, keyPrefix: prefix });
    try {
      const collector = createExporterFor(webRuntime, {
        registry: new Registry(),
        storage,
        metricsServer: false,
        publishOnScrape: false,
        minScrapeIntervalMs: 0,
        clock: () => Date.now() + 600_000,
      });
      const first = await collector.collect();
      assert.equal(sumOf(first, "hono_worker_requests_total"), 150, "the retiring scrape counts everything once");
      assert.equal((await storage.read()).processes.length, 0, "both retired");
      await collector.flush(); // the collector's own counters, published
      const second = await collector.collect();
      assert.equal(sumOf(second, "hono_worker_requests_total"), 150, "and once only");
      assert.equal(sample(second, 'hono_exporter_retired_processes_total{backend="redis"}'), 2);
    } finally {
      await storage.close();
    }
  });
});
