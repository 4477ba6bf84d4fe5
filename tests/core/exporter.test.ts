import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createExporter, Registry } from "../../mod.ts";
import { MemoryStorage } from "../../src/storage/memory.ts";
import { internals } from "../../src/core/exporter/exporter.ts";
import { createExporterFor } from "../../src/adapter/entry/factory.ts";
import { webRuntime } from "../../src/core/runtime.ts";
import { TestClock } from "../support/clock.ts";
import { FlakyStorage } from "../support/flaky.ts";
import { MemoryLogger, sample } from "../support/sim.ts";

function make(overrides: Parameters<typeof createExporter>[0] = {}) {
  const logger = new MemoryLogger();
  const storage = new MemoryStorage();
  const exporter = createExporter({ registry: new Registry(), storage, metricsServer: false, logger, ...overrides });
  return { exporter, logger, storage };
}

describe("exporter", () => {
  test("a hook override replaces the built-in one and can still run it", async () => {
    const calls: string[] = [];
    const { exporter } = make({
      hooks: {
        onStarting: async ({ runDefault }) => {
          calls.push("before");
          await runDefault();
          calls.push("after");
        },
      },
    });
    await exporter.onStarting();
    assert.deepEqual(calls, ["before", "after"]);
    const text = await exporter.collect();
    assert.equal(sample(text, `hono_worker_state{state="starting",worker_id="${exporter.workerId}"}`), 1);
  });

  test("a hook that throws is caught, logged with its name and counted; the app goes on", async () => {
    const { exporter, logger } = make({
      hooks: {
        whenReady: () => {
          throw new TypeError("user bug");
        },
      },
    });
    await exporter.whenReady();
    assert.ok(logger.lines.includes("error: hook whenReady failed: TypeError: user bug"));
    assert.equal(sample(await exporter.collect(), 'hono_exporter_hook_errors_total{hook="whenReady"}'), 1);
    await exporter.onExit();
  });

  test("postFork sets worker_id; workerInt sets quitting and flushes; onExit publishes marked exited", async () => {
    const { exporter, storage } = make();
    await exporter.postFork("worker_3");
    await exporter.whenReady();
    await exporter.workerInt("SIGTERM");
    await exporter.onExit();
    const state = await storage.read();
    const mine = state.processes.find((p) => p.id === internals(exporter).identity.id);
    assert.equal(mine?.exited, true);
    assert.equal(mine?.series.get('hono_worker_state{state="quitting",worker_id="worker_3"}')?.split("@")[0], "1");
  });

  test("a scrape with storage down answers 503 with the reason, counts it, logs once", async () => {
    const inner = new MemoryStorage();
    const flaky = new FlakyStorage(inner);
    const { exporter, logger } = make({ storage: flaky, minScrapeIntervalMs: 0 });
    flaky.down = true;
    for (let i = 0; i < 3; i++) {
      const res = await exporter.scrape(new Request("http://x/metrics"));
      assert.equal(res.status, 503);
      assert.match(await res.text(), /reading flaky storage for a scrape failed: .*Error: connection refused/);
    }
    assert.equal(logger.lines.filter((l) => l.includes("for a scrape failed")).length, 1);
    flaky.down = false;
    const ok = await exporter.scrape(new Request("http://x/metrics"));
    assert.equal(ok.status, 200);
    assert.equal(sample(await ok.text(), 'hono_exporter_scrape_errors_total{backend="flaky"}'), 3);
  });

  test("the exporter's own metrics report retirements and storage latency", async () => {
    const clock = new TestClock();
    const storage = new MemoryStorage({ clock: clock.now });
    const registry = new Registry();
    const a = createExporterFor(webRuntime, {
      registry: new Registry(),
      storage,
      metricsServer: false,
      clock: clock.now,
    });
    await a.flush();
    clock.advance(10 * 60_000);
    const b = createExporterFor(webRuntime, { registry, storage, metricsServer: false, clock: clock.now });
    await b.collect();
    const text = await b.collect();
    assert.equal(sample(text, 'hono_exporter_retired_processes_total{backend="memory"}'), 1);
    assert.ok(
      (sample(text, 'hono_exporter_storage_latency_seconds_count{backend="memory",operation="read"}') ?? 0) >= 1,
    );
  });

  test("the metrics server path answers 404 elsewhere and 405 for other methods", async () => {
    const { exporter } = make();
    assert.equal((await exporter.fetch(new Request("http://x/other"))).status, 404);
    assert.equal((await exporter.fetch(new Request("http://x/metrics", { method: "POST" }))).status, 405);
    assert.equal((await exporter.fetch(new Request("http://x/metrics"))).status, 200);
  });
});
