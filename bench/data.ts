/** The data set the collect benchmarks share: processes x routes x 3 statuses, a counter and a histogram. */
import type client from "prom-client";
import { Collector } from "../src/core/collect/collector.ts";
import { ProcessIdentity } from "../src/core/publish/identity.ts";
import { consoleLogger } from "../src/core/log.ts";
import { Counter, Histogram, Registry } from "../src/core/values/metrics.ts";
import { Publisher } from "../src/core/publish/publisher.ts";
import type { Storage } from "../src/core/storage.ts";
import { recordNativeHistograms } from "../src/core/values/native_histograms.ts";

/**
 * Publishes `processes` simulated processes to `storage`; returns each one's getMetricsAsJSON().
 * With `native`, the histogram is a native one too, and each series has four observations a
 * decade apart (so several native buckets).
 */
export async function publishRouteProcesses(
  storage: Storage,
  processes: number,
  routes: number,
  native = false,
): Promise<client.MetricObjectWithValues<client.MetricValue<string>>[][]> {
  const jsons: client.MetricObjectWithValues<client.MetricValue<string>>[][] = [];
  for (let p = 0; p < processes; p++) {
    const registry = new Registry();
    if (native) recordNativeHistograms(registry, () => true);
    const labelNames = ["method", "route", "status"];
    const counter = new Counter({ name: "http_requests_total", help: "r", labelNames, registers: [registry] });
    const histogram = new Histogram({
      name: "http_request_duration_seconds",
      help: "d",
      labelNames,
      registers: [registry],
    });
    for (let r = 0; r < routes; r++) {
      for (const status of ["200", "404", "500"]) {
        const labels = { method: "GET", route: `/route/${r}`, status };
        counter.inc(labels, p + 1);
        const value = ((r % 10) + p) / 100;
        histogram.observe(labels, value);
        if (native) { for (const scale of [10, 100, 1000]) histogram.observe(labels, value * scale); }
      }
    }
    await new Publisher({
      registry,
      storage,
      identity: new ProcessIdentity({ hostname: `bench${p}` }),
      clock: Date.now,
      seriesLimit: 100_000,
      backoff: { initialDelayMs: 10, maxDelayMs: 100, jitter: false },
      logger: consoleLogger,
    }).publish();
    jsons.push(await registry.getMetricsAsJSON());
  }
  return jsons;
}

/** A collector that retires nobody during a benchmark. */
export function benchCollector(storage: Storage): Collector {
  return new Collector({
    storage,
    clock: Date.now,
    staleAfterMs: 60_000,
    deadAfterMs: 600_000,
    processLabel: "process_id",
  });
}
