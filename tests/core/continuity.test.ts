import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Continuity } from "../../src/core/collect/continuity.ts";
import type { MergedFamily } from "../../src/core/collect/merge.ts";
import { createExporterFor } from "../../src/adapter/entry/factory.ts";
import { webRuntime } from "../../src/core/runtime.ts";
import { Counter, Registry } from "../../src/core/values/metrics.ts";
import { MemoryStorage } from "../../src/storage/memory.ts";
import { MemoryLogger, sample } from "../support/sim.ts";

function families(counter: number, count: number, gauge: number): Map<string, MergedFamily> {
  return new Map<string, MergedFamily>([
    ["c_total", {
      name: "c_total",
      descriptor: { type: "counter", help: "c" },
      values: new Map([['{r="a"}', counter]]),
      distributions: new Map(),
    }],
    ["h", {
      name: "h",
      descriptor: { type: "histogram", help: "h", buckets: [1] },
      values: new Map(),
      distributions: new Map([["", { sum: -count, count, buckets: new Float64Array([count]) }]]),
    }],
    ["g", {
      name: "g",
      descriptor: { type: "gauge", help: "g" },
      values: new Map([["", gauge]]),
      distributions: new Map(),
    }],
  ]);
}

describe("continuity", () => {
  test("a counter or a histogram count lower than served before is held for the grace period, then accepted", () => {
    let now = 0;
    const continuity = new Continuity(1000, () => now);
    assert.equal(continuity.check(families(5, 3, 9)).status, "continuous");
    assert.equal(continuity.check(families(6, 3, 1)).status, "continuous", "a gauge may go down");
    const held = continuity.check(families(2, 1, 1));
    assert.equal(held.status, "hold");
    assert.equal(held.status === "hold" && held.decreased, 2);
    assert.match(held.status === "hold" ? held.example : "", /^c_total\{r="a"\} from 6 to 2$/);
    now = 999;
    assert.equal(continuity.check(families(2, 1, 1)).status, "hold", "still within the grace period");
    assert.equal(continuity.check(families(6, 3, 1)).status, "continuous", "back as it was: served");
    assert.equal(continuity.check(families(4, 3, 1)).status, "hold", "a new decrease starts a new grace period");
    now = 2000;
    assert.equal(continuity.check(families(4, 3, 1)).status, "accept");
    assert.equal(continuity.check(families(4, 3, 1)).status, "continuous", "what was accepted is the new reference");
  });

  test("a fractional counter lower only in its last bits (summed in another order) is served as before", () => {
    const continuity = new Continuity(1000, () => 0);
    const before = 0.1 + 0.2 + 0.3; // 0.6000000000000001
    const after = 0.3 + 0.2 + 0.1; // 0.6
    assert.ok(after < before);
    continuity.check(families(before, 3, 0));
    const again = families(after, 3, 0);
    assert.equal(continuity.check(again).status, "continuous");
    assert.equal(again.get("c_total")!.values.get('{r="a"}'), before, "never served lower, not even by rounding");
  });

  test("a series that disappears is not a decrease (the app removed it)", () => {
    const continuity = new Continuity(1000, () => 0);
    continuity.check(families(5, 3, 9));
    assert.equal(continuity.check(new Map()).status, "continuous");
  });

  test("a series that disappears and comes back lower within the grace period is held; after it, forgotten", () => {
    let now = 0;
    const continuity = new Continuity(1000, () => now);
    continuity.check(families(5, 3, 9));
    assert.equal(continuity.check(new Map()).status, "continuous", "gone: not served, not a decrease");
    now = 500;
    assert.equal(continuity.check(families(2, 3, 9)).status, "hold", "back lower: part of its processes published");
    now = 2000;
    continuity.check(new Map());
    now = 3100;
    continuity.check(new Map());
    assert.equal(continuity.check(families(1, 1, 9)).status, "continuous", "gone longer than the grace period: new");
  });

  test("the exporter answers 503 with the reason while held, then serves, counts the reset and says it once", async () => {
    let now = 1_000_000;
    const registry = new Registry();
    const jobs = new Counter({ name: "jobs_total", help: "Jobs.", registers: [registry] });
    const logger = new MemoryLogger();
    const exporter = createExporterFor(webRuntime, {
      registry,
      storage: new MemoryStorage(),
      metricsServer: false,
      minScrapeIntervalMs: 0,
      publishIntervalMs: 1000,
      flushWindowMs: 1000,
      clock: () => now,
      logger,
    });
    const scrape = () => exporter.scrape(new Request("http://x/metrics"));
    jobs.inc(5);
    assert.equal(sample(await (await scrape()).text(), "jobs_total"), 5);
    jobs.reset(); // the app's own reset: the same decrease a storage loss would show
    const held = await scrape();
    assert.equal(held.status, 503);
    assert.match(
      await held.text(),
      /1 series went down since the last scrape \(jobs_total from 5 to 0\).*held back for up to 3 s/,
    );
    now += 2999;
    assert.equal(
      (await scrape()).status,
      503,
      "within the grace period (twice the publish interval and a flush window)",
    );
    now += 2;
    const served = await scrape();
    assert.equal(served.status, 200);
    assert.equal(sample(await served.text(), "jobs_total"), 0);
    assert.equal(sample(await (await scrape()).text(), 'hono_exporter_reset_series_total{backend="memory"}'), 1);
    assert.equal(logger.lines.filter((l) => /stayed down/.test(l)).length, 1);
    await exporter.onExit();
  });
});
