import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Collector } from "../../src/core/collect/collector.ts";
import { MemoryStorage } from "../../src/storage/memory.ts";
import { TestClock } from "../support/clock.ts";
import { sample, SimProcess, testCollector } from "../support/sim.ts";

const DEAD = 60_000;

async function total(collector: Collector): Promise<number> {
  return sample(await collector.render("prometheus"), 'app_requests_total{route="/"}') ?? 0;
}

describe("retirement", () => {
  test("retires a dead process exactly once, even with two collectors scraping at the same moment", async () => {
    const clock = new TestClock();
    const storage = new MemoryStorage({ clock: clock.now });
    const a = new SimProcess(storage, clock);
    const b = new SimProcess(storage, clock);
    a.requests.inc({ route: "/" }, 5);
    b.requests.inc({ route: "/" }, 2);
    await a.publish();
    await b.publish();
    clock.advance(DEAD + 1);
    await b.publish(); // b stays alive; a is dead
    let retiredCount = 0;
    const make = () => testCollector(storage, clock, 10_000, DEAD, { retired: (n) => (retiredCount += n) });
    const [x, y] = await Promise.all([make().render("prometheus"), make().render("prometheus")]);
    assert.equal(retiredCount, 1, "one collector retired a, once");
    assert.equal(sample(x, 'app_requests_total{route="/"}'), 7);
    assert.equal(sample(y, 'app_requests_total{route="/"}'), 7);
    const after = await storage.read();
    assert.deepEqual(after.processes.map((p) => p.id), [b.identity.id]);
    assert.equal(after.retired.get('app_requests_total{route="/"}'), "5");
    assert.equal(await total(make()), 7, "a later scrape sees the same total, nothing folded twice");
    assert.equal(retiredCount, 1);
  });

  test("counters never go backwards as processes crash, restart and are retired", async () => {
    const clock = new TestClock();
    const storage = new MemoryStorage({ clock: clock.now });
    const collector = testCollector(storage, clock, 10_000, DEAD);
    const seen: number[] = [];
    let sent = 0;
    let current = new SimProcess(storage, clock);
    for (let generation = 0; generation < 5; generation++) {
      for (let step = 0; step < 4; step++) {
        current.requests.inc({ route: "/" }, generation + 1);
        current.latency.observe({ route: "/" }, 0.05);
        sent += generation + 1;
        await current.publish();
        seen.push(await total(collector));
        clock.advance(20_000);
      }
      // The process crashes (stops publishing) and a new one takes its place.
      current = new SimProcess(storage, clock);
      clock.advance(DEAD);
      seen.push(await total(collector));
    }
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i] >= seen[i - 1], `scrape ${i}: ${seen[i]} < ${seen[i - 1]}`);
    assert.equal(seen.at(-1), sent, "every published request is still counted");
    const text = await collector.render("prometheus");
    assert.equal(sample(text, 'app_latency_seconds_count{route="/"}'), 20);
    assert.equal(sample(text, 'app_latency_seconds_bucket{route="/",le="0.1"}'), 20);
    assert.equal((await storage.read()).processes.length, 0, "every crashed process was retired");
    assert.equal((await storage.read()).retired.get('app_requests_total{route="/"}'), String(sent));
  });

  test("a process retired by mistake that publishes again is not double counted", async () => {
    const clock = new TestClock();
    const storage = new MemoryStorage({ clock: clock.now });
    const collector = testCollector(storage, clock, 10_000, DEAD);
    const a = new SimProcess(storage, clock);
    a.requests.inc({ route: "/" }, 5);
    a.latency.observe({ route: "/" }, 0.5);
    await a.publish();
    const firstId = a.identity.id;
    clock.advance(DEAD + 1); // a long pause: a looks dead
    assert.equal(await total(collector), 5);
    assert.equal((await storage.read()).processes.length, 0, "a was retired");
    a.requests.inc({ route: "/" }, 3);
    await a.publish();
    assert.notEqual(a.identity.id, firstId, "a publishes under a new incarnation");
    assert.equal(await total(collector), 8, "5 retired + 3 new, not 5 + 8");
    a.requests.inc({ route: "/" }, 2);
    a.latency.observe({ route: "/" }, 0.05);
    await a.publish();
    const text = await collector.render("prometheus");
    assert.equal(sample(text, 'app_requests_total{route="/"}'), 10);
    assert.equal(sample(text, 'app_latency_seconds_count{route="/"}'), 2);
    assert.equal(sample(text, 'app_latency_seconds_bucket{route="/",le="0.1"}'), 1);
    assert.equal(sample(text, 'app_latency_seconds_bucket{route="/",le="1"}'), 2);
  });

  test("a process retired twice by mistake still counts each request once", async () => {
    const clock = new TestClock();
    const storage = new MemoryStorage({ clock: clock.now });
    const collector = testCollector(storage, clock, 10_000, DEAD);
    const a = new SimProcess(storage, clock);
    for (let round = 1; round <= 3; round++) {
      a.requests.inc({ route: "/" }, 4);
      await a.publish();
      assert.equal(await total(collector), 4 * round);
      clock.advance(DEAD + 1);
      assert.equal(await total(collector), 4 * round, "retiring changes no total");
    }
  });

  test("gauges of a retired process disappear; its counters stay in the total", async () => {
    const clock = new TestClock();
    const storage = new MemoryStorage({ clock: clock.now });
    const collector = testCollector(storage, clock, 10_000, DEAD);
    const a = new SimProcess(storage, clock);
    a.gauge("queue", "sum").set(9);
    a.requests.inc({ route: "/" });
    await a.publish();
    assert.equal(sample(await collector.render("prometheus"), "queue"), 9);
    clock.advance(DEAD + 1);
    const text = await collector.render("prometheus");
    assert.equal(sample(text, "queue"), undefined);
    assert.equal(sample(text, 'app_requests_total{route="/"}'), 1);
  });
});
