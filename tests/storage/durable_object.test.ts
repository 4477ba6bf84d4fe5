/**
 * The Durable Object backend against a real metrics object in workerd (`wrangler dev` of the
 * relay fixture): the shared storage suite, then what only this backend has: retirement from the
 * object's alarm with nobody scraping, a state built again from its SQLite tables, and sharding.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { ProcessUpdate } from "../../src/core/storage.ts";
import { DurableObjectStorage } from "../../src/storage/durable/storage.ts";
import { type RelayNamespace, relayNamespace } from "../support/durable.ts";
import { until } from "../support/poll.ts";
import { RUNTIME } from "../support/runtime.ts";
import { type RunningWorker, startSession } from "../support/workerd.ts";
import { testStorage } from "./conformance.ts";
import { Counter, createExporter, Registry } from "../../mod.ts";
import { MemoryLogger, sample } from "../support/sim.ts";

// A heartbeat of the suite's clock is decades old to the object's: processes of the suite must
// not die by its alarm, only by the collectors' retirements the suite runs.
const NEVER = 1e15;

let worker: RunningWorker | undefined;
let namespace: RelayNamespace;
let objects = 0;

if (RUNTIME !== "node") {
  test(`durable-object storage (skipped on ${RUNTIME}: the object runs in workerd, driven once from Node's runner)`, {
    skip: true,
  }, () => {});
} else {
  before(async () => {
    worker = await startSession(["tests/support/fixtures/durable/relay.toml"]);
    namespace = relayNamespace(worker.url);
  });
  after(async () => await worker?.stop());

  const byName = new WeakMap<object, string>();
  testStorage(
    "durable-object",
    ({ tombstoneTtlMs }) => {
      const name = `conformance-${++objects}`;
      const storage = new DurableObjectStorage({ namespace, name, deadAfterMs: NEVER, tombstoneTtlMs });
      byName.set(storage, name);
      return storage;
    },
    {
      tombstoneClock: "server",
      publishAndRead: true,
      retiredInAnswers: true,
      loseEverything: async (s) => {
        const res = await namespace.send(byName.get(s)!, "__lose");
        assert.equal(res.status, 200, await res.text());
      },
      roundTrips: () => Promise.resolve([...namespace.calls.values()].reduce((a, b) => a + b, 0)),
      damageRetiredCopy: async (s, damage, series) => {
        const res = await namespace.send(byName.get(s)!, "__damage-retired", { ...damage, series });
        assert.equal(res.status, 200, await res.text());
      },
      damageRecord: async (s, id) => {
        const name = byName.get(s)!;
        assert.equal((await namespace.send(name, "__damage-record", { id })).status, 200);
        return async () => void assert.equal((await namespace.send(name, "__remove-record", { id })).status, 200);
      },
      addStray: { lacks: "the object reads its own tables by name: nothing else is there" },
    },
  );

  describe("durable-object storage", () => {
    const update = (processId: string, heartbeat: number, value: string): ProcessUpdate => ({
      processId,
      heartbeat,
      exited: false,
      descriptors: new Map([["jobs_total", { type: "counter", help: "Jobs." }]]),
      series: new Map([["jobs_total", value]]),
    });

    test("a silent process is retired by the object's alarm, with nobody scraping, exactly once", async () => {
      const storage = new DurableObjectStorage({ namespace, name: `alarm-${++objects}`, deadAfterMs: 300 });
      assert.equal((await storage.publish(update("quiet", Date.now(), "7"))).status, "ok");
      const state = await until(
        "the alarm to retire the quiet process",
        async () => {
          const s = await storage.read();
          return s.processes.length === 0 ? s : undefined;
        },
        15_000,
        100,
      );
      assert.equal(state.retired.get("jobs_total"), "7");
      assert.equal(state.retiredVersion, 1, "one retirement");
      // A collector that read it before, retiring it again, commits nothing.
      assert.equal(
        await storage.retire({
          expectedVersion: 0,
          processes: [{ id: "quiet", heartbeat: 1 }],
          retiredUpdates: new Map(),
        }),
        false,
      );
      // The process learns what was folded when it publishes again.
      const again = await storage.publish(update("quiet", Date.now(), "9"));
      assert.equal(again.status, "retired");
      assert.equal(again.status === "retired" ? again.folded.get("jobs_total") : undefined, "7");
    });

    test("the state is built again from the object's tables, series, descriptors and retired total", async () => {
      const name = `reload-${++objects}`;
      const storage = new DurableObjectStorage({ namespace, name, deadAfterMs: NEVER });
      await storage.publish(update("a", 5, "3"));
      await storage.publish(update("b", 6, "4"));
      const before = await storage.read();
      assert.ok(
        await storage.retire({
          expectedVersion: before.retiredVersion,
          processes: [{ id: "b", heartbeat: 6 }],
          retiredUpdates: new Map([["jobs_total", "4"]]),
        }),
      );
      assert.equal((await namespace.send(name, "__reload")).status, 200);
      const after = await storage.read();
      assert.deepEqual(after.processes.map((p) => [p.id, p.heartbeat, p.series.get("jobs_total")]), [["a", 5, "3"]]);
      assert.equal(after.retired.get("jobs_total"), "4");
      assert.equal(after.retiredVersion, 1);
      assert.equal(after.descriptors.get("jobs_total")?.type, "counter");
      assert.equal(after.corrupt, 0);
    });

    test("the app's requests cost the object one publish per flush window, whatever their number", async () => {
      const stats = async () => {
        const res = await namespace.send("hono-prometheus", "stats");
        return (JSON.parse(await res.text()) as { requests: Record<string, number> }).requests.publish ?? 0;
      };
      const before = await stats();
      const started = Date.now();
      for (let i = 0; i < 60; i++) assert.equal((await fetch(`${worker!.url}/users/${i}`)).status, 200);
      const windows = Math.ceil((Date.now() - started) / 1000) + 1; // flushWindowMs 1000
      await until("the last window's publish", async () => (await stats()) > before, 10_000, 100);
      const publishes = (await stats()) - before;
      assert.ok(
        publishes >= 1 && publishes <= windows,
        `${publishes} publishes for 60 requests over ${windows} window(s)`,
      );
    });

    test("an exporter over several objects meets no loss when another object holds the retired total", async () => {
      const storage = new DurableObjectStorage({
        namespace,
        name: `exporter-${++objects}`,
        shards: 2,
        deadAfterMs: NEVER,
      });
      const logger = new MemoryLogger();
      const registry = new Registry();
      const jobs = new Counter({ name: "jobs_total", help: "Jobs.", registers: [registry] });
      const exporter = createExporter({ registry, storage, metricsServer: false, logger, minScrapeIntervalMs: 0 });
      try {
        await exporter.flush();
        const own = storage.shardOf((await storage.read()).processes[0].id);
        // A retired process of the other object: the retired total the exporter learns is not its object's.
        let old = 0;
        while (storage.shardOf(`old-${old}`) === own) old++;
        await storage.publish(update(`old-${old}`, 1, "5"));
        const state = await storage.read();
        assert.ok(
          await storage.retire({
            expectedVersion: state.retiredVersion,
            processes: [{ id: `old-${old}`, heartbeat: 1 }],
            retiredUpdates: new Map(),
          }),
        );
        for (let i = 1; i <= 4; i++) {
          jobs.inc();
          await exporter.flush();
          const text = await (await exporter.scrape(new Request("http://x/metrics"))).text();
          assert.equal(sample(text, "jobs_total"), 5 + i, `scrape ${i}: 5 retired and ${i} live`);
        }
        assert.deepEqual(logger.lines.filter((line) => /lost|reset/i.test(line)), []);
      } finally {
        await exporter.onExit();
      }
    });

    test("isolates spread over shards: one request per publish, a read merges every shard", async () => {
      const name = `sharded-${++objects}`;
      const storage = new DurableObjectStorage({ namespace, name, shards: 4, deadAfterMs: NEVER });
      for (let i = 0; i < 12; i++) await storage.publish(update(`isolate-${i}`, 10 + i, String(i + 1)));
      const used = [...namespace.calls.keys()].filter((k) => k === name || k.startsWith(`${name}-`));
      assert.ok(used.length >= 2, `12 isolates landed on ${used.length} shard(s)`);
      const publishes = used.reduce((sum, k) => sum + namespace.calls.get(k)!, 0);
      assert.equal(publishes, 12, "one request per publish");
      const state = await storage.read();
      assert.equal(state.processes.length, 12);
      const total = state.processes.reduce((sum, p) => sum + Number(p.series.get("jobs_total")), 0);
      assert.equal(total, 78);
      // Retiring isolates of several shards folds each into its own shard; the read adds them up.
      const dead = state.processes.filter((p) => Number(p.series.get("jobs_total")) <= 4);
      assert.ok(
        await storage.retire({
          expectedVersion: state.retiredVersion,
          processes: dead.map((p) => ({ id: p.id, heartbeat: p.heartbeat })),
          retiredUpdates: new Map(),
        }),
      );
      const after = await storage.read();
      assert.equal(after.retired.get("jobs_total"), "10");
      assert.equal(after.processes.length, 8);
    });
  });
}
