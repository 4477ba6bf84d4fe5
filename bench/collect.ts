/**
 * (c) Collect + render of 16 processes x 1000 routes x 3 statuses (a counter and a histogram):
 * this collector over the memory backend vs prom-client's AggregatorRegistry.aggregate + metrics()
 * over the same data (each process's getMetricsAsJSON()).
 */
import client from "prom-client";
import { MemoryStorage } from "../src/storage/memory.ts";
import { benchCollector, publishRouteProcesses } from "./data.ts";
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
  const jsons = await publishRouteProcesses(storage, processes, routes);
  const collector = benchCollector(storage);
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
