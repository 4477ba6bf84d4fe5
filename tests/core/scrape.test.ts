import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ConfigError, createExporter, Registry } from "../../mod.ts";
import { envFromObject } from "../../src/core/env.ts";
import { createExporterFor } from "../../src/adapter/entry/factory.ts";
import { MemoryStorage } from "../../src/storage/memory.ts";
import { FlakyStorage } from "../support/flaky.ts";
import { MemoryLogger } from "../support/sim.ts";

const TOKEN = "a-scrape-token-9f8e7d";
const get = (headers: Record<string, string> = {}) => new Request("http://x/metrics", { headers });

function counted(overrides: Parameters<typeof createExporter>[0] = {}) {
  const storage = new FlakyStorage(new MemoryStorage());
  const exporter = createExporter({ registry: new Registry(), storage, metricsServer: false, ...overrides });
  return { exporter, storage };
}

describe("scrapes", () => {
  test("on a host /metrics is open until a token is set; then only `Bearer <token>` is served", async () => {
    assert.equal((await counted().exporter.scrape(get())).status, 200);
    const { exporter, storage } = counted({ metricsToken: TOKEN });
    for (
      const authorization of [undefined, "Bearer", `Bearer ${TOKEN}x`, `Basic ${TOKEN}`, `bearer  ${TOKEN.slice(1)}`]
    ) {
      const res = await exporter.scrape(get(authorization === undefined ? {} : { authorization }));
      assert.equal(res.status, 401, String(authorization));
      assert.equal(res.headers.get("www-authenticate"), 'Bearer realm="metrics"');
      assert.doesNotMatch(await res.text(), new RegExp(TOKEN));
    }
    assert.equal(storage.reads, 0, "a refused scrape reads nothing");
    assert.equal((await exporter.scrape(get({ authorization: `Bearer ${TOKEN}` }))).status, 200);
    assert.equal((await exporter.scrape(get({ authorization: `bearer ${TOKEN}` }))).status, 200);
  });

  test("the token comes from PROMETHEUS_METRICS_TOKEN; a token that cannot be sent is a ConfigError that does not show it", () => {
    const runtime = { name: "test", env: envFromObject({ PROMETHEUS_METRICS_TOKEN: "has space" }), facts: {} };
    assert.throws(
      () => createExporterFor(runtime, { registry: new Registry(), metricsServer: false }),
      (e: unknown) =>
        e instanceof ConfigError && e.setting === "PROMETHEUS_METRICS_TOKEN" && !e.message.includes("has space"),
    );
    assert.throws(
      () => createExporter({ registry: new Registry(), metricsServer: false, metricsToken: "tab\there" }),
      (e: unknown) => e instanceof ConfigError && e.setting === "metricsToken" && !e.message.includes("tab"),
    );
  });

  test("scrapes that arrive together share one publish and one read", async () => {
    const { exporter, storage } = counted();
    const responses = await Promise.all(Array.from({ length: 10 }, () => exporter.scrape(get())));
    assert.deepEqual(new Set(responses.map((r) => r.status)), new Set([200]));
    assert.equal(storage.reads, 1);
    assert.equal(storage.publishes.length, 1);
  });

  test("scrapes within minScrapeIntervalMs share a read; after it, a fresh one", async () => {
    const { exporter, storage } = counted({ minScrapeIntervalMs: 150 });
    await exporter.scrape(get());
    await exporter.scrape(get({ accept: "application/openmetrics-text" }));
    assert.equal(storage.reads, 1);
    const deadline = Date.now() + 5_000;
    while (storage.reads === 1 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      await exporter.scrape(get());
    }
    assert.equal(storage.reads, 2);
  });

  test("minScrapeIntervalMs 0: sequential scrapes each read", async () => {
    const { exporter, storage } = counted({ minScrapeIntervalMs: 0 });
    for (let i = 0; i < 3; i++) await exporter.scrape(get());
    assert.equal(storage.reads, 3);
  });
});

describe("one exporter per registry", () => {
  test("a second createExporter with the same options returns the same exporter; other options are an error", async () => {
    const registry = new Registry();
    const storage = new MemoryStorage();
    const logger = new MemoryLogger();
    const first = createExporter({ registry, storage, metricsServer: false, logger });
    const second = createExporter({ registry, storage, metricsServer: false, logger });
    assert.equal(second, first);
    assert.throws(
      () => createExporter({ registry, storage: new MemoryStorage(), metricsServer: false, logger }),
      (e: unknown) =>
        e instanceof ConfigError && e.setting === "storage" && /registry: new Registry\(\)/.test(e.message),
    );
    await first.onExit();
    const next = createExporter({ registry, storage: new MemoryStorage(), metricsServer: false, logger });
    assert.notEqual(next, first, "after onExit a new exporter may take the registry, without 'already registered'");
  });
});
