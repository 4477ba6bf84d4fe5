/**
 * What storage costs in round trips, where the backend's server can count them: one per publish,
 * one per read, one for a scrape's publish and read, whatever the number of processes; nothing per
 * app request; noticing a loss costs nothing more, repairing it one more.
 */
import assert from "node:assert/strict";
import { Hono } from "hono";
import { createExporter, prometheus, Registry } from "../../../mod.ts";
import type { Storage } from "../../../src/core/storage.ts";
import { TestClock } from "../../support/clock.ts";
import { sample, SimProcess } from "../../support/sim.ts";
import { needs, rule, type Suite, use } from "../conformance.ts";
import { update } from "./updates.ts";

const ROUTE = { route: "/" };
const REQUESTS = 'app_requests_total{route="/"}';

/**
 * Runs each operation once as process `warm`: the first use of a script costs one more round trip
 * (EVALSHA, then EVAL), on the very node that serves this storage's keys.
 */
async function loadScripts(s: Storage, heartbeat: number): Promise<void> {
  await s.publish(update("warm", heartbeat, { c_total: "1" }));
  await s.read();
  await s.publishAndRead?.(update("warm", heartbeat + 1, { c_total: "1" }));
  assert.equal(await s.retire({ expectedVersion: -1, processes: [], retiredUpdates: new Map() }), false);
}

/** The cost rules, on the backend `suite` makes. */
export function costRules({ capabilities, clock, fresh, forProcesses }: Suite): void {
  const counted = needs(capabilities.roundTrips);
  /** Round trips `call` took. */
  const cost = async (call: () => Promise<unknown>): Promise<number> => {
    const count = use(capabilities.roundTrips);
    const before = await count();
    await call();
    return await count() - before;
  };

  rule(
    "one round trip per publish, one per read, one for a scrape's publish and read, whatever the number of processes",
    counted,
    async () => {
      const s = await fresh();
      await loadScripts(s, 1);
      const costs = async (heartbeat: number) => ({
        publish: await cost(() => s.publish(update("warm", heartbeat, { c_total: String(heartbeat) }))),
        read: await cost(() => s.read()),
        ...(s.publishAndRead === undefined ? {} : {
          publishAndRead: await cost(() => s.publishAndRead!(update("warm", heartbeat + 1, { c_total: "0" }))),
        }),
      });
      const expected = capabilities.publishAndRead
        ? { publish: 1, read: 1, publishAndRead: 1 }
        : { publish: 1, read: 1 };
      assert.deepEqual(await costs(10), expected, "with one process");
      for (let i = 1; i < 20; i++) await s.publish(update(`p${i}`, 10 + i, { c_total: String(i) }));
      assert.deepEqual(await costs(100), expected, "with twenty");
      assert.equal((await s.read()).processes.length, 20);
      await s.close();
    },
  );

  rule("a first publish of 6000 series is one round trip", counted, async () => {
    const s = await fresh();
    await loadScripts(s, 1);
    const series = Object.fromEntries(Array.from({ length: 6000 }, (_, i) => [`c_total{i="${i}"}`, String(i)]));
    assert.equal(await cost(() => s.publish(update("wide", 1, series))), 1);
    assert.equal((await s.read()).processes.find((p) => p.id === "wide")?.series.size, 6000);
    await s.close();
  });

  rule(
    "noticing a loss costs no round trip: one per publish, and one more only to repair a loss",
    counted,
    async () => {
      const s = await forProcesses();
      const p = new SimProcess(s, clock, "cost");
      p.requests.inc(ROUTE);
      await p.publish(); // connects, loads the script
      const steady = [];
      for (let i = 0; i < 3; i++) {
        p.requests.inc(ROUTE);
        steady.push(await cost(() => p.publish()));
      }
      assert.deepEqual(steady, [1, 1, 1], "each publish checks what storage holds inside its one round trip");
      await capabilities.loseEverything(s);
      assert.equal(await cost(() => p.publish()), 2, "the publish that learns of the loss, and the repair");
      assert.equal(await cost(() => p.publish()), 1);
      assert.equal((await s.read()).processes[0].series.get(REQUESTS), "4");
      await s.close();
    },
  );

  const scrapesInOne = capabilities.publishAndRead ? false : "no publishAndRead: a scrape publishes, then reads";
  rule("a scrape costs one round trip, and two when it retires a dead process", counted || scrapesInOne, async () => {
    const storage = await forProcesses();
    await loadScripts(storage, clock.ms);
    const dead = new SimProcess(storage, new TestClock(clock.ms - 600_000));
    dead.requests.inc(ROUTE, 3);
    await dead.publish(); // ten minutes ago: dead
    const exporter = createExporter({
      registry: new Registry(),
      storage,
      metricsServer: false,
      minScrapeIntervalMs: 0,
    });
    const scrape = async () => {
      let text = "";
      const trips = await cost(
        async () => (text = await (await exporter.scrape(new Request("http://x/metrics"))).text()),
      );
      return { text, trips };
    };
    const first = await scrape();
    assert.equal(sample(first.text, REQUESTS), 3);
    assert.equal(first.trips, 2, "this process's publish and the read in one round trip, then the retirement");
    const second = await scrape();
    assert.equal(sample(second.text, REQUESTS), 3, "the retired total holds it");
    assert.equal(second.trips, 1);
    await exporter.onExit();
    await storage.close();
  });

  rule("app requests cause no round trip; only publishes and scrapes do", counted, async () => {
    const storage = await forProcesses();
    // A long interval: only the flushes below publish.
    const exporter = createExporter({
      registry: new Registry(),
      storage,
      metricsServer: false,
      publishIntervalMs: 30_000,
    });
    const app = new Hono();
    app.use(prometheus({ exporter }));
    app.get("/users/:id", (c) => c.json({ id: c.req.param("id") }));
    await exporter.flush();
    const trips = await cost(async () => {
      for (let i = 0; i < 1000; i++) assert.equal((await app.request(`/users/${i}`)).status, 200);
    });
    assert.equal(trips, 0, "the request path never touches storage");
    assert.equal(await cost(() => exporter.flush()), 1);
    assert.equal(
      sample(await exporter.collect(), 'hono_worker_requests_total{method="GET",route="/users/:id",status="200"}'),
      1000,
    );
    await exporter.onExit();
    await storage.close();
  });
}
