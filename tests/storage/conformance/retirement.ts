/**
 * Retirement through the real `Publisher` and `Collector` (simulated processes on one test clock):
 * a dead process is folded once however many collectors scrape, a process retired by mistake is
 * never counted twice, and the retired total survives the loss or garbling of one of its copies.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Collector } from "../../../src/core/collect/collector.ts";
import type { Storage } from "../../../src/core/storage.ts";
import type { TestClock } from "../../support/clock.ts";
import { sample, SimProcess, testCollector } from "../../support/sim.ts";
import { type CopyDamage, needs, rule, type Suite, use } from "../conformance.ts";
import { update } from "./updates.ts";
import { emptyNative, lowerTo, nativeTotal, observeNative } from "../../../src/core/codec/native.ts";
import { decodeHistogram, encodeHistogram } from "../../../src/core/codec/values.ts";

const DEAD_MS = 60_000;
const ROUTE = { route: "/" };
const REQUESTS = 'app_requests_total{route="/"}';
const LATENCY_COUNT = 'app_latency_seconds_count{route="/"}';

/** A collector with test-sized liveness limits that adds each retirement it commits to `retired`. */
function collector(storage: Storage, clock: TestClock, retired?: { count: number }): Collector {
  return testCollector(storage, clock, 10_000, DEAD_MS, {
    retired: (n) => {
      if (retired !== undefined) retired.count += n;
    },
  });
}

async function total(c: Collector): Promise<number> {
  return sample(await c.render("prometheus"), REQUESTS) ?? 0;
}

/** A native histogram's stored value (buckets at 0.1 and 1), observing `values` from schema 3. */
function nativeValue(values: readonly number[]): string {
  const native = emptyNative();
  for (const v of values) observeNative(native, v);
  const sum = values.reduce((a, b) => a + b, 0);
  return encodeHistogram(sum, values.length, [
    values.filter((v) => v <= 0.1).length,
    values.filter((v) => v <= 1).length,
  ], native);
}

const sorted = (m: ReadonlyMap<number, number>) => [...m].sort((a, b) => a[0] - b[0]);

/** The retirement rules, on the backend `suite` makes. */
export function retirementRules({ capabilities, clock, forProcesses }: Suite): void {
  test("native histograms: summed over processes at the coarser schema, folded exactly when one retires", async () => {
    const storage = await forProcesses();
    const key = 'h_seconds{route="/"}';
    // a's observations span 2^-20..2^20 (its resolution lowered); b's stay within one power of ten.
    const wide = Array.from({ length: 400 }, (_, i) => 2 ** ((i % 41) - 20) * (1 + i / 1000));
    const narrow = [0.012, 0.05, 0.07, 0.3];
    assert.ok(decodeHistogram(nativeValue(wide), 2)!.native!.schema < 3, "a's resolution is lowered");
    await storage.publish(update("a", clock.now(), { [key]: nativeValue(wide) }));
    await storage.publish(update("b", clock.now(), { [key]: nativeValue(narrow) }));
    const expected = emptyNative();
    for (const v of [...wide, ...narrow]) observeNative(expected, v);
    const check = async (what: string) => {
      const d = (await collector(storage, clock).collect()).families.get("h_seconds")!.distributions.get(
        '{route="/"}',
      )!;
      assert.equal(d.count, wide.length + narrow.length, what);
      lowerTo(expected, d.native!.schema);
      assert.deepEqual(sorted(d.native!.positive), sorted(expected.positive), what);
      assert.equal(nativeTotal(d.native!), d.count, what);
    };
    await check("both live");
    clock.advance(DEAD_MS + 1);
    await storage.publish(update("b", clock.now(), { [key]: nativeValue(narrow) })); // a looks dead
    await check("a retired in this scrape");
    const retired = decodeHistogram((await storage.read()).retired.get(key)!, 2)!;
    assert.deepEqual(
      [retired.count, nativeTotal(retired.native!)],
      [wide.length, wide.length],
      "the retired total is native",
    );
    await check("a in the retired total");
    await storage.close();
  });

  test("two collectors scraping at the same moment retire a dead process once; a mistaken retirement counts nothing twice", async () => {
    const storage = await forProcesses();
    const a = new SimProcess(storage, clock);
    const b = new SimProcess(storage, clock);
    a.requests.inc(ROUTE, 5);
    b.requests.inc(ROUTE, 2);
    await a.publish();
    await b.publish();
    clock.advance(DEAD_MS + 1);
    await b.publish(); // b stays alive; a looks dead
    const retired = { count: 0 };
    const texts = await Promise.all([
      collector(storage, clock, retired).render("prometheus"),
      collector(storage, clock, retired).render("prometheus"),
    ]);
    assert.equal(retired.count, 1, "one collector retired a, once");
    for (const text of texts) assert.equal(sample(text, REQUESTS), 7);
    const after = await storage.read();
    assert.deepEqual(after.processes.map((p) => p.id), [b.identity.id]);
    assert.equal(after.retired.get(REQUESTS), "5");
    assert.equal(await total(collector(storage, clock, retired)), 7, "a later scrape: nothing folded twice");
    assert.equal(retired.count, 1);
    // a was only paused: it publishes again, under a new incarnation, and nothing is counted twice.
    const firstId = a.identity.id;
    a.requests.inc(ROUTE, 3);
    await a.publish();
    assert.notEqual(a.identity.id, firstId, "a publishes under a new incarnation");
    assert.equal(await total(collector(storage, clock, retired)), 10, "5 retired + 3 new + b's 2, not 5 + 8 + 2");
    assert.equal(retired.count, 1);
    await storage.close();
  });

  test("a process retired twice by mistake still counts each request once", async () => {
    const storage = await forProcesses();
    const c = collector(storage, clock);
    const a = new SimProcess(storage, clock);
    for (let round = 1; round <= 3; round++) {
      a.requests.inc(ROUTE, 4);
      await a.publish();
      assert.equal(await total(c), 4 * round);
      clock.advance(DEAD_MS + 1);
      assert.equal(await total(c), 4 * round, "retiring changes no total");
    }
    assert.equal((await storage.read()).processes.length, 0, "each incarnation was retired");
    await storage.close();
  });

  test("counters never go backwards as processes crash, restart and are retired", async () => {
    const storage = await forProcesses();
    const c = collector(storage, clock);
    const seen: number[] = [];
    let sent = 0;
    let current = new SimProcess(storage, clock);
    for (let generation = 0; generation < 5; generation++) {
      for (let step = 0; step < 4; step++) {
        current.requests.inc(ROUTE, generation + 1);
        current.latency.observe(ROUTE, 0.05);
        sent += generation + 1;
        await current.publish();
        seen.push(await total(c));
        clock.advance(20_000);
      }
      // The process crashes (stops publishing) and a new one takes its place.
      current = new SimProcess(storage, clock);
      clock.advance(DEAD_MS);
      seen.push(await total(c));
    }
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i] >= seen[i - 1], `scrape ${i}: ${seen[i]} < ${seen[i - 1]}`);
    assert.equal(seen.at(-1), sent, "every published request is still counted");
    const text = await c.render("prometheus");
    assert.equal(sample(text, LATENCY_COUNT), 20);
    assert.equal(sample(text, 'app_latency_seconds_bucket{route="/",le="0.1"}'), 20);
    const state = await storage.read();
    assert.equal(state.processes.length, 0, "every crashed process was retired");
    assert.equal(state.retired.get(REQUESTS), String(sent));
    await storage.close();
  });

  test("gauges of a retired process disappear; its counters stay in the total", async () => {
    const storage = await forProcesses();
    const c = collector(storage, clock);
    const a = new SimProcess(storage, clock);
    a.gauge("queue", "sum").set(9);
    a.requests.inc(ROUTE);
    await a.publish();
    assert.equal(sample(await c.render("prometheus"), "queue"), 9);
    clock.advance(DEAD_MS + 1);
    const text = await c.render("prometheus");
    assert.equal(sample(text, "queue"), undefined);
    assert.equal(sample(text, REQUESTS), 1);
    await storage.close();
  });

  for (const how of ["garble", "lose"] as const) {
    const what = how === "garble" ? "a garbled" : "a lost";
    rule(
      `${what} copy of the retired total loses no count and blocks no later retirement, whichever copy`,
      needs(capabilities.damageRetiredCopy),
      async () => {
        const storage = await forProcesses();
        const damage = (copy: CopyDamage["copy"]) =>
          use(capabilities.damageRetiredCopy)(storage, { copy, how }, REQUESTS);
        const [a, b, c] = [
          new SimProcess(storage, clock),
          new SimProcess(storage, clock),
          new SimProcess(storage, clock),
        ];
        a.requests.inc(ROUTE, 5);
        a.latency.observe(ROUTE, 0.5); // a series of a's alone: b's retirement does not fold into it
        b.requests.inc(ROUTE, 2);
        c.requests.inc(ROUTE, 1);
        for (const p of [a, b, c]) await p.publish();
        clock.advance(DEAD_MS + 1);
        await b.publish();
        await c.publish();
        const retired = { count: 0 };
        const scrape = () => total(collector(storage, clock, retired));
        assert.equal(await scrape(), 8);
        assert.equal(retired.count, 1, "a retired");
        await damage(0);
        assert.equal(await scrape(), 8, "the other copy holds the value");
        clock.advance(DEAD_MS + 1);
        await c.publish();
        assert.equal(await scrape(), 8, "b retired, folded onto the other copy's value");
        assert.equal(retired.count, 2, "the damaged copy blocked no retirement");
        const text = await collector(storage, clock).render("prometheus");
        assert.equal(sample(text, LATENCY_COUNT), 1, "a series that retirement did not touch reads too");
        await damage(1);
        assert.equal(await scrape(), 8, "the first copy was rewritten by that retirement");
        const after = await collector(storage, clock).render("prometheus");
        assert.equal(sample(after, LATENCY_COUNT), 1, "and holds the series that retirement did not touch");
        assert.equal((await storage.read()).processes.length, 1, "c alone is live");
        await storage.close();
      },
    );
  }
}
