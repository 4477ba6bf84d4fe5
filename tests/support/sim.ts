/**
 * Simulated processes: each has its own prom-client registry, identity and publisher, all
 * publishing to one storage under one test clock, the way separate processes would.
 */
import { Collector, type CollectorEvents } from "../../src/core/collect/collector.ts";
import { ProcessIdentity } from "../../src/core/publish/identity.ts";
import type { Logger } from "../../src/core/log.ts";
import { Counter, Gauge, Histogram, Registry } from "../../src/core/values/metrics.ts";
import type { MultiprocessMode } from "../../src/core/values/modes.ts";
import { Publisher } from "../../src/core/publish/publisher.ts";
import type { Storage } from "../../src/core/storage.ts";
import type { TestClock } from "./clock.ts";

/** A logger that keeps what it is told. */
export class MemoryLogger implements Logger {
  readonly lines: string[] = [];
  warn(message: string): void {
    this.lines.push(`warn: ${message}`);
  }
  error(message: string): void {
    this.lines.push(`error: ${message}`);
  }
}

/** One simulated process with a request counter and a latency histogram. */
export class SimProcess {
  readonly registry = new Registry();
  readonly identity: ProcessIdentity;
  readonly publisher: Publisher;
  readonly requests: Counter<"route">;
  readonly latency: Histogram<"route">;
  readonly logger = new MemoryLogger();

  constructor(readonly storage: Storage, readonly clock: TestClock, name = "sim") {
    this.identity = new ProcessIdentity({ hostname: name });
    this.requests = new Counter({
      name: "app_requests_total",
      help: "Requests.",
      labelNames: ["route"],
      registers: [this.registry],
    });
    this.latency = new Histogram({
      name: "app_latency_seconds",
      help: "Latency.",
      labelNames: ["route"],
      buckets: [0.1, 1],
      registers: [this.registry],
    });
    this.publisher = new Publisher({
      registry: this.registry,
      storage,
      identity: this.identity,
      clock: clock.now,
      seriesLimit: 1000,
      backoff: { initialDelayMs: 1, maxDelayMs: 4, jitter: false },
      logger: this.logger,
    });
  }

  gauge(name: string, mode: MultiprocessMode): Gauge {
    const existing = this.registry.getSingleMetric(name);
    if (existing) return existing as unknown as Gauge;
    return new Gauge({ name, help: `${name}.`, multiprocessMode: mode, registers: [this.registry] });
  }

  publish(): Promise<void> {
    return this.publisher.publish();
  }
}

/** A collector over `storage` with short, test-sized liveness limits. */
export function testCollector(
  storage: Storage,
  clock: TestClock,
  staleAfterMs = 10_000,
  deadAfterMs = 60_000,
  events?: CollectorEvents,
): Collector {
  return new Collector({ storage, clock: clock.now, staleAfterMs, deadAfterMs, processLabel: "process_id", events });
}

/** Reads one sample's value from rendered text, or undefined. */
export function sample(text: string, series: string): number | undefined {
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) continue;
    const space = line.lastIndexOf(" ");
    if (line.slice(0, space) === series) return Number(line.slice(space + 1));
  }
  return undefined;
}

/** Sums every sample of `name` (exact name, any labels) in rendered text. */
export function sumOf(text: string, name: string): number {
  let total = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) {
      total += Number(line.slice(line.lastIndexOf(" ") + 1));
    }
  }
  return total;
}

/** Renders what a metrics directory holds, as a collector in another process would see it. */
export async function renderDirectory(directory: string): Promise<string> {
  const { FilesystemStorage } = await import("../../src/storage/filesystem/storage.ts");
  const storage = new FilesystemStorage({ directory });
  return await new Collector({
    storage,
    clock: Date.now,
    staleAfterMs: 60_000,
    deadAfterMs: 600_000,
    processLabel: "process_id",
  })
    .render("prometheus");
}
