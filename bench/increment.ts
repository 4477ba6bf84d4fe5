/**
 * (a) Per-increment cost of a 3-label counter and a histogram: prom-client alone vs the same
 * metrics in a registry this exporter publishes (every 100 ms, 50x more often than the default,
 * to make any interference visible). Rounds alternate so that machine noise hits both alike.
 */
import client from "prom-client";
import { createExporter } from "../mod.ts";
import { Counter, Histogram, Registry } from "../src/core/values/metrics.ts";
import { MemoryStorage } from "../src/storage/memory.ts";
import { median } from "./stats.ts";

const OPS = 200_000;
const ROUTES = 50;

function workload(registry: client.Registry): () => number {
  const counter = new Counter({
    name: "req_total",
    help: "r",
    labelNames: ["method", "route", "status"],
    registers: [registry],
  });
  const histogram = new Histogram({
    name: "req_seconds",
    help: "r",
    labelNames: ["method", "route", "status"],
    registers: [registry],
  });
  const labels = Array.from(
    { length: ROUTES },
    (_, i) => ({ method: "GET", route: `/r/${i}`, status: i % 7 ? "200" : "500" }),
  );
  return () => {
    const start = performance.now();
    for (let i = 0; i < OPS; i++) {
      const l = labels[i % ROUTES];
      counter.inc(l);
      histogram.observe(l, (i % 100) / 1000);
    }
    return ((performance.now() - start) * 1e6) / OPS;
  };
}

export interface IncrementResult {
  readonly baselineNs: number;
  readonly exporterNs: number;
}

export async function benchIncrement(rounds = 15): Promise<IncrementResult> {
  const alone = workload(new client.Registry());
  const registry = new Registry();
  const exporter = createExporter({
    registry,
    storage: new MemoryStorage(),
    metricsServer: false,
    publishIntervalMs: 100,
  });
  const withExporter = workload(registry);
  await exporter.whenReady();
  const a: number[] = [];
  const b: number[] = [];
  for (let r = 0; r < rounds; r++) {
    a.push(alone());
    b.push(withExporter());
    await new Promise((resolve) => setTimeout(resolve, 120)); // let the publisher run between rounds
  }
  await exporter.onExit();
  return { baselineNs: median(a.slice(3)), exporterNs: median(b.slice(3)) };
}
