/**
 * Scale: collect + render of 64 processes x 10 000 series (a counter and a histogram per label
 * set) on the filesystem backend, against prom-client's AggregatorRegistry on the same data, with
 * the process's peak RSS after each; the publish of 10 000 changed series (snapshot, encoding,
 * the write to memory storage); a scrape of 64 processes x 1000 series over Upstash (the REST
 * gateway over a real redis-server) and over Redis TCP; the aggregate's size and render time in
 * each exposition format, classic and with native histograms.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import client from "prom-client";
import { ProcessIdentity } from "../src/core/publish/identity.ts";
import { Publisher } from "../src/core/publish/publisher.ts";
import { consoleLogger } from "../src/core/log.ts";
import { Counter, Histogram, Registry } from "../src/core/values/metrics.ts";
import { FilesystemStorage } from "../src/storage/filesystem/storage.ts";
import { MemoryStorage } from "../src/storage/memory.ts";
import { RedisStorage } from "../src/storage/redis.ts";
import { UpstashStorage } from "../src/storage/upstash.ts";
import { startRedis } from "../tests/support/redis.ts";
import { startGateway } from "../tests/support/upstash_gateway.ts";
import { benchCollector, publishRouteProcesses } from "./data.ts";
import { median } from "./stats.ts";
import type { Collector } from "../src/core/collect/collector.ts";
import { render } from "../src/core/render/render.ts";
import { ProtobufEncoder } from "../src/core/render/protobuf.ts";

export interface ScaleResult {
  readonly fs: {
    readonly processes: number;
    readonly series: number;
    readonly coldMs: number;
    readonly steadyMs: number;
    readonly promClientMs: number;
    readonly rssAfterOursMiB: number;
    readonly rssAfterPromClientMiB: number;
  };
  /** One publish (`ms`), and of it what encoding took (`encodeMs`: all but the storage write). */
  readonly publish: { readonly series: number; readonly ms: number; readonly encodeMs: number };
  readonly remote: {
    readonly processes: number;
    readonly series: number;
    readonly upstashMs: number;
    readonly redisMs: number;
  };
  /** The aggregate of the filesystem data in each format: its size, and the render's time after the merge. */
  readonly formats: {
    readonly classic: FormatSizes;
    /** The same series, the histogram native too (four observations per series). */
    readonly native: FormatSizes;
  };
}

/** Bytes and render time (ms, median) of one aggregate in each format, and the merge before them. */
export interface FormatSizes {
  readonly collectMs: number;
  readonly text: { readonly bytes: number; readonly ms: number };
  readonly openmetrics: { readonly bytes: number; readonly ms: number };
  readonly protobuf: { readonly bytes: number; readonly ms: number };
  /** The first encoding of an encoder, which has each series' labels to encode. */
  readonly protobufFirst: { readonly bytes: number; readonly ms: number };
}

async function formatSizes(collector: Collector, rounds: number): Promise<FormatSizes> {
  const collectMs = await time(rounds, () => collector.collect());
  // A render takes tens of milliseconds: more rounds, for a steadier median.
  const renders = Math.max(rounds, 9);
  const families = (await collector.collect()).families;
  const encoder = new ProtobufEncoder();
  const measure = async (run: () => string | Uint8Array) => {
    const out = run();
    const bytes = typeof out === "string" ? new TextEncoder().encode(out).length : out.length;
    return { bytes, ms: await time(renders, () => Promise.resolve(run())) };
  };
  return {
    collectMs,
    text: await measure(() => render(families.values(), "prometheus")),
    openmetrics: await measure(() => render(families.values(), "openmetrics")),
    // One encoder for every scrape, as a metrics server keeps it (its first encoding, timed apart, is slower).
    protobufFirst: await measure(() => new ProtobufEncoder().encode(families.values())),
    protobuf: await measure(() => encoder.encode(families.values())),
  };
}

const maxRssMiB = () => process.resourceUsage().maxRSS / 1024;

async function time(rounds: number, run: () => Promise<unknown>): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t = performance.now();
    await run();
    samples.push(performance.now() - t);
  }
  return median(samples);
}

/** Memory storage that keeps how long its last write took. */
class TimedMemoryStorage extends MemoryStorage {
  lastWriteMs = 0;
  override async publish(update: Parameters<MemoryStorage["publish"]>[0]) {
    const started = performance.now();
    try {
      return await super.publish(update);
    } finally {
      this.lastWriteMs = performance.now() - started;
    }
  }
}

/**
 * One publish of 10 000 changed series (5000 label sets, a counter and a histogram each), in a
 * process whose heap holds only them, as an app's would: measured before the scale data is loaded,
 * after 20 publishes (an app that has published for a while; its first ones wait on the JIT).
 */
export async function benchPublish(rounds: number): Promise<{ ms: number; encodeMs: number }> {
  const registry = new Registry();
  const labelNames = ["method", "route", "status"];
  const counter = new Counter({ name: "c_total", help: "c", labelNames, registers: [registry] });
  const histogram = new Histogram({ name: "h_seconds", help: "h", labelNames, registers: [registry] });
  const storage = new TimedMemoryStorage();
  const publisher = new Publisher({
    registry,
    storage,
    identity: new ProcessIdentity({ hostname: "scale" }),
    clock: Date.now,
    seriesLimit: 100_000,
    backoff: { initialDelayMs: 10, maxDelayMs: 100, jitter: false },
    logger: consoleLogger,
  });
  const touchAll = () => {
    for (let r = 0; r < 5000; r++) {
      const labels = { method: "GET", route: `/r/${r}`, status: "200" };
      counter.inc(labels);
      histogram.observe(labels, (r % 10) / 100);
    }
  };
  // Steady state, as in an app that has published for a while: the JIT has compiled the encoders.
  for (let i = 0; i < 20; i++) {
    touchAll();
    await publisher.publish();
  }
  const samples: number[] = [];
  const encodeSamples: number[] = [];
  for (let i = 0; i < Math.max(21, rounds); i++) {
    touchAll(); // every series changed
    const t = performance.now();
    await publisher.publish();
    const ms = performance.now() - t;
    samples.push(ms);
    encodeSamples.push(ms - storage.lastWriteMs);
  }
  return { ms: median(samples), encodeMs: median(encodeSamples) };
}

export async function benchScale(rounds = 3): Promise<ScaleResult> {
  const publish = await benchPublish(rounds);
  const root = mkdtempSync(join(tmpdir(), "hpe-scale-"));
  try {
    // 64 x 10 000 on the filesystem: 1667 routes x 3 statuses, a counter and a histogram each.
    const directory = join(root, "fs");
    const jsons = await publishRouteProcesses(new FilesystemStorage({ directory }), 64, 1667);
    const t0 = performance.now();
    await benchCollector(new FilesystemStorage({ directory })).render("prometheus");
    const coldMs = performance.now() - t0;
    const collector = benchCollector(new FilesystemStorage({ directory }));
    await collector.render("prometheus");
    const steadyMs = await time(rounds, () => collector.render("prometheus"));
    const rssAfterOursMiB = maxRssMiB();
    const promClientMs = await time(rounds, () => client.AggregatorRegistry.aggregate(jsons).metrics());
    const rssAfterPromClientMiB = maxRssMiB();
    const classicFormats = await formatSizes(collector, rounds);
    const nativeDirectory = join(root, "native");
    await publishRouteProcesses(new FilesystemStorage({ directory: nativeDirectory }), 64, 1667, true);
    const nativeFormats = await formatSizes(
      benchCollector(new FilesystemStorage({ directory: nativeDirectory })),
      rounds,
    );

    // 64 x 1000 over Upstash and Redis TCP.
    const redis = await startRedis();
    const gateway = await startGateway(redis.port);
    const tcp = new RedisStorage({ url: `redis://127.0.0.1:${redis.port}/2`, keyPrefix: "scale" });
    try {
      const rest = new UpstashStorage({
        url: gateway.url,
        token: gateway.token,
        keyPrefix: "scale",
        timeoutMs: 60_000,
      });
      await publishRouteProcesses(rest, 64, 167);
      await publishRouteProcesses(tcp, 64, 167);
      const upstashCollector = benchCollector(rest);
      const redisCollector = benchCollector(tcp);
      await upstashCollector.render("prometheus");
      await redisCollector.render("prometheus");
      const upstashMs = await time(rounds, () => upstashCollector.render("prometheus"));
      const redisMs = await time(rounds, () => redisCollector.render("prometheus"));
      return {
        fs: {
          processes: 64,
          series: 1667 * 3 * 2,
          coldMs,
          steadyMs,
          promClientMs,
          rssAfterOursMiB,
          rssAfterPromClientMiB,
        },
        publish: { series: 10_000, ...publish },
        remote: { processes: 64, series: 167 * 3 * 2, upstashMs, redisMs },
        formats: { classic: classicFormats, native: nativeFormats },
      };
    } finally {
      await tcp.close();
      await gateway.stop();
      await redis.stop();
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
