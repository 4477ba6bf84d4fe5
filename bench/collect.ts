/**
 * (c) Collect + render of 16 processes x 1000 routes x 3 statuses (a counter and a histogram):
 * this collector over the memory backend vs prom-client's AggregatorRegistry.aggregate + metrics()
 * over the same data (each process's getMetricsAsJSON()).
 */
import client from "prom-client";
import { Collector } from "../src/core/collector.ts";
import { ProcessIdentity } from "../src/core/identity.ts";
import { consoleLogger } from "../src/core/log.ts";
import { Counter, Histogram, Registry } from "../src/core/metrics.ts";
import { Publisher } from "../src/core/publisher.ts";
import { MemoryStorage } from "../src/storage/memory.ts";
import { median } from "./stats.ts";

export interface CollectResult {
  readonly processes: number;
  readonly series: number;
  readonly exporterMs: number;
  readonly promClientMs: number;
  readonly outputBytes: number;
}

export async function benchCollect(processes = 16, routes = 1000, rounds = 7): Promise<CollectResult> {
  const storage = new MemoryStorage();
  const jsons: client.MetricObjectWithValues<client.MetricValue<string>>[][] = [];
  for (let p = 0; p < processes; p++) {
    const registry = new Registry();
    const counter = new Counter({
      name: "http_requests_total",
      help: "r",
      labelNames: ["method", "route", "status"],
      registers: [registry],
    });
    const histogram = new Histogram({
      name: "http_request_duration_seconds",
      help: "d",
      labelNames: ["method", "route", "status"],
      registers: [registry],
    });
    for (let r = 0; r < routes; r++) {
      for (const status of ["200", "404", "500"]) {
        const labels = { method: "GET", route: `/route/${r}`, status };
        counter.inc(labels, p + 1);
        histogram.observe(labels, ((r % 10) + p) / 100);
      }
    }
    const publisher = new Publisher({
      registry,
      storage,
      identity: new ProcessIdentity({ hostname: `bench${p}` }),
      clock: Date.now,
      seriesLimit: 100_000,
      backoff: { initialMs: 10, maxMs: 100, jitter: false },
      logger: consoleLogger,
    });
    await publisher.publish();
    jsons.push(await registry.getMetricsAsJSON());
  }
  const collector = new Collector({
    storage,
    clock: Date.now,
    staleAfterMs: 60_000,
    deadAfterMs: 600_000,
    processLabel: "process_id",
  });
  const ours: number[] = [];
  const theirs: number[] = [];
  let outputBytes = 0;
  for (let i = 0; i < rounds; i++) {
    let t = performance.now();
    outputBytes = (await collector.render("prometheus")).length;
    ours.push(performance.now() - t);
    t = performance.now();
    await client.AggregatorRegistry.aggregate(jsons).metrics();
    theirs.push(performance.now() - t);
  }
  return {
    processes,
    series: routes * 3 * 2,
    exporterMs: median(ours.slice(1)),
    promClientMs: median(theirs.slice(1)),
    outputBytes,
  };
}
