/**
 * Issue 3's benchmark: (1) collect + render from the filesystem backend, 16 process files x 3000
 * label sets (a counter and a histogram each), against prom-client's AggregatorRegistry on the
 * same data; (2) publish cost of one process (bytes appended, ms) after 1 request and after 10 000.
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import client from "prom-client";
import { Hono } from "hono";
import { createExporter, prometheus } from "../mod.ts";
import { Registry } from "../src/core/values/metrics.ts";
import { internals } from "../src/core/exporter/exporter.ts";
import { FilesystemStorage } from "../src/storage/filesystem/storage.ts";
import { benchCollector, publishRouteProcesses } from "./data.ts";
import { median } from "./stats.ts";

export interface FilesystemResult {
  readonly coldMs: number;
  readonly exporterMs: number;
  readonly promClientMs: number;
  readonly publishAfterOne: { bytes: number; ms: number };
  readonly publishAfterTenThousand: { bytes: number; ms: number };
}

export async function benchFilesystem(processes = 16, routes = 1000, rounds = 7): Promise<FilesystemResult> {
  const root = mkdtempSync(join(tmpdir(), "hpe-bench-"));
  try {
    const storage = new FilesystemStorage({ directory: join(root, "collect") });
    const jsons = await publishRouteProcesses(storage, processes, routes);
    // A collector's first scrape parses every file; later ones read only what was appended.
    const started = performance.now();
    await benchCollector(new FilesystemStorage({ directory: join(root, "collect") })).render("prometheus");
    const coldMs = performance.now() - started;
    const collector = benchCollector(storage);
    const ours: number[] = [];
    const theirs: number[] = [];
    for (let i = 0; i < rounds; i++) {
      let t = performance.now();
      await collector.render("prometheus");
      ours.push(performance.now() - t);
      t = performance.now();
      await client.AggregatorRegistry.aggregate(jsons).metrics();
      theirs.push(performance.now() - t);
    }

    const dir = join(root, "publish");
    const exporter = createExporter({
      registry: new Registry(),
      storage: new FilesystemStorage({ directory: dir }),
      metricsServer: false,
    });
    const app = new Hono();
    app.use(prometheus({ exporter }));
    app.get("/users/:id", (c) => c.json({ id: c.req.param("id") }));
    await exporter.flush(); // the first publish carries every descriptor
    const logSize = () => statSync(join(dir, `p-${internals(exporter).identity.id}.log`)).size;
    const measure = async (requests: number) => {
      for (let i = 0; i < requests; i++) await app.request(`/users/${i % 500}`, { method: i % 10 ? "GET" : "POST" });
      const before = logSize();
      const t = performance.now();
      await exporter.flush();
      return { bytes: logSize() - before, ms: performance.now() - t };
    };
    const publishAfterOne = await measure(1);
    const publishAfterTenThousand = await measure(10_000);
    return {
      coldMs,
      exporterMs: median(ours.slice(1)),
      promClientMs: median(theirs.slice(1)),
      publishAfterOne,
      publishAfterTenThousand,
    };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
