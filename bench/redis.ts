/**
 * Redis over TCP against a real redis-server: round trips per publish, per scrape and per
 * retiring scrape (counted by the server, `INFO commandstats`), and the time of a scrape (read,
 * merge, render) at 16 processes x 6000 series, against prom-client's AggregatorRegistry on the
 * same data and this collector over the memory backend. Under Bun, one EVALSHA through
 * @redis/client against Bun's built-in RedisClient.
 */
import { spawnSync } from "node:child_process";
import client from "prom-client";
import { createExporterFor } from "../src/adapter/entry/factory.ts";
import { webRuntime } from "../src/core/runtime.ts";
import { Counter, Registry } from "../src/core/values/metrics.ts";
import { MemoryStorage } from "../src/storage/memory.ts";
import { RedisStorage } from "../src/storage/redis.ts";
import { scriptCalls, startRedis } from "../tests/support/redis.ts";
import { benchCollector, publishRouteProcesses } from "./data.ts";
import { median } from "./stats.ts";

export interface RedisBench {
  readonly roundTrips: { readonly publish: number; readonly scrape: number; readonly retiringScrape: number };
  readonly processes: number;
  readonly series: number;
  readonly redisMs: number;
  readonly memoryMs: number;
  readonly promClientMs: number;
  readonly bunClient?: { readonly nodeRedisUs: number; readonly bunUs: number };
}

export async function benchRedis(rounds = 7, processes = 16, routes = 1000): Promise<RedisBench> {
  const redis = await startRedis();
  const url = `redis://127.0.0.1:${redis.port}/1`;
  const storages: RedisStorage[] = [];
  const open = (keyPrefix: string) => {
    const s = new RedisStorage({ url, keyPrefix });
    storages.push(s);
    return s;
  };
  try {
    // Round trips, on exporters as an app runs them (one publish; one scrape; one scrape that retires).
    let now = Date.now();
    const exporter = (storage: RedisStorage, registry = new Registry()) =>
      createExporterFor(webRuntime, {
        registry,
        storage,
        metricsServer: false,
        minScrapeIntervalMs: 0,
        clock: () => now,
      });
    const registry = new Registry();
    const jobs = new Counter({ name: "jobs_total", help: "j", registers: [registry] });
    const app = exporter(open("trips"), registry);
    // Warm-up: connections made, and each script run once (its first use is EVALSHA, then EVAL).
    await exporter(open("trips")).flush();
    now += 600_000;
    await app.collect(); // retires the warm-up process
    const dead = exporter(open("trips"));
    await dead.flush();
    jobs.inc();
    let before = await scriptCalls(redis.port);
    await app.flush();
    const publish = (await scriptCalls(redis.port)) - before;
    jobs.inc();
    before = await scriptCalls(redis.port);
    await app.collect();
    const scrape = (await scriptCalls(redis.port)) - before;
    now += 600_000; // the other process is now dead
    jobs.inc();
    before = await scriptCalls(redis.port);
    await app.collect();
    const retiringScrape = (await scriptCalls(redis.port)) - before;

    // Scrape time at 16 x 6000 series.
    const storage = open("scrape");
    const jsons = await publishRouteProcesses(storage, processes, routes);
    const memory = new MemoryStorage();
    await publishRouteProcesses(memory, processes, routes);
    const time = async (run: () => Promise<unknown>) => {
      const samples: number[] = [];
      for (let i = 0; i < rounds; i++) {
        const t = performance.now();
        await run();
        samples.push(performance.now() - t);
      }
      return median(samples.slice(1));
    };
    const redisCollector = benchCollector(storage);
    const memoryCollector = benchCollector(memory);
    const redisMs = await time(() => redisCollector.render("prometheus"));
    const memoryMs = await time(() => memoryCollector.render("prometheus"));
    const promClientMs = await time(() => client.AggregatorRegistry.aggregate(jsons).metrics());

    const bun = spawnSync("node_modules/.bin/bun", ["bench/redis_client_bun.ts", url], { encoding: "utf8" });
    const line = bun.stdout.trim().split("\n").pop();
    const bunClient = bun.status === 0 && line ? JSON.parse(line) : undefined;
    return {
      roundTrips: { publish, scrape, retiringScrape },
      processes,
      series: routes * 3 * 2,
      redisMs,
      memoryMs,
      promClientMs,
      bunClient,
    };
  } finally {
    for (const s of storages) await s.close();
    await redis.stop();
  }
}
