import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Counter, Gauge, Histogram, Registry, Summary } from "../../src/core/values/metrics.ts";
import { takeSnapshot } from "../../src/core/publish/snapshot.ts";
import { decodeHistogram } from "../../src/core/codec/values.ts";
import { MemoryStorage } from "../../src/storage/memory.ts";
import { TestClock } from "../support/clock.ts";
import { FlakyStorage } from "../support/flaky.ts";
import { sample, SimProcess, testCollector } from "../support/sim.ts";

describe("publisher", () => {
  test("sends only the series that changed since the last acknowledged publish", async () => {
    const clock = new TestClock();
    const storage = new FlakyStorage(new MemoryStorage({ clock: clock.now }));
    const p = new SimProcess(storage, clock);
    for (let r = 0; r < 50; r++) p.requests.inc({ route: `/r${r}` });
    await p.publish();
    assert.equal(storage.publishes[0].series.size, 50);
    assert.ok(storage.publishes[0].descriptors.size >= 1);
    p.requests.inc({ route: "/r7" });
    await p.publish();
    assert.deepEqual([...storage.publishes[1].series.keys()], ['app_requests_total{route="/r7"}']);
    assert.equal(storage.publishes[1].descriptors.size, 0, "descriptors are sent once");
    await p.publish();
    assert.equal(storage.publishes[2].series.size, 0, "an unchanged process sends only its heartbeat");
    assert.equal(p.publisher.acknowledgedSeries, 50);
  });

  test("values keep accumulating through an outage and all arrive once storage is back", async () => {
    const clock = new TestClock();
    const storage = new FlakyStorage(new MemoryStorage({ clock: clock.now }));
    const p = new SimProcess(storage, clock);
    p.requests.inc({ route: "/" }, 2);
    await p.publish();
    storage.down = true;
    for (let i = 0; i < 10; i++) {
      p.requests.inc({ route: "/" });
      await assert.rejects(p.publish(), /connection refused/);
    }
    storage.down = false;
    await p.publish();
    assert.equal(
      sample(await testCollector(storage.inner, clock).render("prometheus"), 'app_requests_total{route="/"}'),
      12,
    );
    const errors = p.logger.lines.filter((l) => l.startsWith("error"));
    assert.equal(errors.length, 1, "one report per outage, not per attempt");
    assert.match(errors[0], /flaky storage failed .*connection refused/);
    assert.ok(p.logger.lines.some((l) => /recovered after 10 failed attempt/.test(l)));
  });

  test("a publish applied but not acknowledged is sent again without double counting", async () => {
    const clock = new TestClock();
    const storage = new FlakyStorage(new MemoryStorage({ clock: clock.now }));
    const p = new SimProcess(storage, clock);
    p.requests.inc({ route: "/" }, 3);
    storage.loseAcks = true;
    await assert.rejects(p.publish());
    storage.loseAcks = false;
    await p.publish();
    assert.equal(storage.publishes[1].series.get('app_requests_total{route="/"}'), "3", "resent as an absolute value");
    assert.equal(
      sample(await testCollector(storage.inner, clock).render("prometheus"), 'app_requests_total{route="/"}'),
      3,
    );
  });

  test("the interval publishes on its own and retries with backoff after a failure", async () => {
    const clock = new TestClock();
    const storage = new FlakyStorage(new MemoryStorage({ clock: clock.now }));
    const p = new SimProcess(storage, clock);
    p.requests.inc({ route: "/" });
    storage.down = true;
    p.publisher.start(20);
    await new Promise((r) => setTimeout(r, 150));
    const attemptsWhileDown = storage.publishes.length;
    storage.down = false;
    await new Promise((r) => setTimeout(r, 100));
    p.publisher.stop();
    assert.ok(attemptsWhileDown >= 2, `retried while down (${attemptsWhileDown} attempts)`);
    assert.equal(
      sample(await testCollector(storage.inner, clock).render("prometheus"), 'app_requests_total{route="/"}'),
      1,
    );
  });

  test("a metric over its series limit drops new series, warns once and counts them", async () => {
    const clock = new TestClock();
    const storage = new MemoryStorage({ clock: clock.now });
    const registry = new Registry();
    const c = new Counter({ name: "wide_total", help: "w", labelNames: ["id"], registers: [registry] });
    for (let i = 0; i < 30; i++) c.inc({ id: String(i) });
    const drops: number[] = [];
    const snap = await takeSnapshot(registry, {
      seriesLimit: 10,
      known: new Map(),
      now: 0,
      onDropped: (_m, n) => drops.push(n),
    });
    assert.equal(snap.series.size, 10);
    assert.deepEqual(drops, [20]);
    const p = new SimProcess(storage, clock);
    const wide = new Counter({ name: "wide_total", help: "w", labelNames: ["id"], registers: [p.registry] });
    for (let i = 0; i < 1500; i++) wide.inc({ id: String(i) });
    await p.publish();
    await p.publish();
    assert.equal((await storage.read()).processes[0].series.size, 1000, "limit of 1000 holds");
    assert.equal(p.logger.lines.filter((l) => l.includes("wide_total reached its limit")).length, 1);
  });
});

describe("publisher after a storage loss", () => {
  /** A process that learned the retired total (a dead one folded), over a storage that can lose everything. */
  async function afterRetirement() {
    const clock = new TestClock();
    const memory = new MemoryStorage({ clock: clock.now });
    const storage = new FlakyStorage(memory);
    const p = new SimProcess(storage, clock, "p");
    const dead = new SimProcess(memory, clock, "dead");
    dead.requests.inc({ route: "/" }, 7);
    await dead.publish();
    p.requests.inc({ route: "/" }, 2);
    await p.publish();
    clock.advance(61_000);
    await p.publish();
    await testCollector(memory, clock).render("prometheus"); // retires the dead one
    await p.publish(); // its answer carries the new retired total
    return { clock, memory, storage, p };
  }

  test("publishes everything again in the next round trip, with the retired total it knew", async () => {
    const { clock, memory, storage, p } = await afterRetirement();
    memory.clear();
    p.requests.inc({ route: "/" });
    const before = storage.publishes.length;
    await p.publish();
    const [lost, replace] = storage.publishes.slice(before);
    assert.equal(storage.publishes.length - before, 2, "one round trip to learn of the loss, one to repair it");
    assert.equal(lost.descriptors.size, 0, "the first sent only what changed");
    assert.equal(replace.replace, true);
    assert.equal(replace.descriptors.size, 2, "the second, everything");
    assert.equal(replace.series.get('app_requests_total{route="/"}'), "3");
    assert.equal(replace.restore?.retired?.series.get('app_requests_total{route="/"}'), "7");
    const text = await testCollector(memory, clock).render("prometheus");
    assert.equal(sample(text, 'app_requests_total{route="/"}'), 10);
    assert.equal(p.logger.lines.filter((l) => /had lost this process's record/.test(l)).length, 1);
  });

  test("a repair that fails is retried as a repair, with the restoration, until one is acknowledged", async () => {
    const { clock, memory, storage, p } = await afterRetirement();
    memory.clear();
    const failing = new FlakyStorage(memory);
    const publish = storage.publish.bind(storage);
    let refused = 0;
    storage.publish = (update) => {
      if (update.replace && refused++ < 2) {
        return failing.publish({ ...update }).then(() => Promise.reject(new Error("refused (simulated)")));
      }
      return publish(update);
    };
    await assert.rejects(p.publish(), /refused/);
    await assert.rejects(p.publish(), /refused/);
    await p.publish();
    const last = storage.publishes.at(-1)!;
    assert.equal(last.replace, true, "still a repair");
    const text = await testCollector(memory, clock).render("prometheus");
    assert.equal(sample(text, 'app_requests_total{route="/"}'), 9, "the retired total is back, once");
    assert.equal(p.logger.lines.filter((l) => /had lost/.test(l)).length, 1);
  });
});

describe("snapshot encoding", () => {
  test("encodes every prom-client metric type compactly and exactly", async () => {
    const registry = new Registry();
    new Counter({ name: "c_total", help: "c", labelNames: ["a"], registers: [registry] }).inc({ a: 'q"\\\n' }, 2.5);
    const h = new Histogram({ name: "h", help: "h", buckets: [1, 5], registers: [registry] });
    h.observe(0.5);
    h.observe(3);
    h.observe(10);
    const s = new Summary({ name: "s", help: "s", registers: [registry] });
    s.observe(2);
    s.observe(4);
    new Gauge({ name: "g", help: "g", registers: [registry], multiprocessMode: "livemostrecent" }).set(-1.5);
    const snap = await takeSnapshot(registry, { seriesLimit: 100, known: new Map(), now: 5, onDropped: () => {} });
    assert.equal(snap.series.get('c_total{a="q\\"\\\\\\n"}'), "2.5");
    assert.deepEqual(decodeHistogram(snap.series.get("h")!, 2), { sum: 13.5, count: 3, buckets: [1, 2] });
    assert.deepEqual(snap.descriptors.get("h"), { type: "histogram", help: "h", buckets: [1, 5] });
    assert.equal(snap.series.get("s"), "6|2");
    assert.match(snap.series.get("g")!, /^-1\.5@\d+$/);
    assert.equal(snap.descriptors.get("g")?.mode, "livemostrecent");
  });

  test("a 3000-series histogram snapshot is far smaller than prom-client's JSON", async () => {
    const registry = new Registry();
    const h = new Histogram({ name: "lat", help: "l", labelNames: ["route", "status"], registers: [registry] });
    for (let r = 0; r < 1000; r++) {
      for (const status of ["200", "404", "500"]) h.observe({ route: `/r${r}`, status }, 0.2);
    }
    const snap = await takeSnapshot(registry, { seriesLimit: 10_000, known: new Map(), now: 0, onDropped: () => {} });
    let bytes = 0;
    for (const [k, v] of snap.series) bytes += k.length + v.length;
    const json = JSON.stringify(await registry.getMetricsAsJSON()).length;
    assert.ok(bytes * 10 < json, `compact ${bytes} B vs JSON ${json} B`);
  });
});

describe("snapshot of prom-client counters and histograms", () => {
  const options = { seriesLimit: 1000, known: new Map<string, string>(), onDropped() {}, now: 0 };
  const make = () => {
    const registry = new Registry();
    const labelNames = ["route", "note"];
    const histogram = new Histogram({
      name: "h_seconds",
      help: "h",
      labelNames,
      buckets: [0.01, 0.1, 0.25, 1],
      registers: [registry],
    });
    const counter = new Counter({ name: "c_total", help: "c", labelNames, registers: [registry] });
    const traffic = (n: number, offset: number) => {
      for (let i = 0; i < n; i++) {
        const labels = { route: `/r/${(i + offset) % 7}`, note: i % 3 ? 'quote " and \\ slash' : "line\nbreak" };
        histogram.observe(labels, (i % 13) / 10);
        counter.inc(labels, i % 4);
      }
    };
    traffic(50, 0);
    return { registry, histogram, counter, traffic };
  };
  const sorted = (m: Map<string, string>) => [...m].sort();

  test("read from prom-client's own state, they encode exactly as through get() (labels escaped, buckets cumulative)", async () => {
    const direct = make();
    const viaGet = make();
    // A collect callback makes the snapshot take prom-client's get(), as it must for such a metric.
    (viaGet.histogram as unknown as { collect: () => void }).collect = () => {};
    (viaGet.counter as unknown as { collect: () => void }).collect = () => {};
    const a = await takeSnapshot(direct.registry, options);
    const b = await takeSnapshot(viaGet.registry, options);
    assert.equal(a.series.size, 28, "7 routes x 2 notes, a counter and a histogram");
    assert.deepEqual(sorted(a.series), sorted(b.series));
    assert.deepEqual(a.descriptors.get("h_seconds"), b.descriptors.get("h_seconds"));
    assert.deepEqual(a.descriptors.get("c_total"), b.descriptors.get("c_total"));
  });

  test("series reused from the previous snapshot follow every change, removal, zero and reset", async () => {
    const direct = make();
    const viaGet = make();
    (viaGet.histogram as unknown as { collect: () => void }).collect = () => {};
    (viaGet.counter as unknown as { collect: () => void }).collect = () => {};
    const steps: Array<(m: ReturnType<typeof make>) => void> = [
      () => {},
      (m) => m.traffic(5, 3),
      (m) => m.counter.remove({ route: "/r/1", note: "line\nbreak" }),
      (m) => m.histogram.zero({ route: "/r/2", note: "line\nbreak" }),
      (m) => m.traffic(1, 1),
      (m) => m.counter.reset(),
      (m) => m.histogram.reset(),
      (m) => m.traffic(20, 4),
    ];
    for (const [i, step] of steps.entries()) {
      step(direct);
      step(viaGet);
      const a = await takeSnapshot(direct.registry, options);
      const b = await takeSnapshot(viaGet.registry, options);
      assert.deepEqual(sorted(a.series), sorted(b.series), `after step ${i}`);
    }
  });
});
