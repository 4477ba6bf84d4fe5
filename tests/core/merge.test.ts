import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { mergeState } from "../../src/core/collect/merge.ts";
import { MULTIPROCESS_MODES, type MultiprocessMode } from "../../src/core/values/modes.ts";
import { render } from "../../src/core/render/render.ts";
import type { MetricDescriptor, ProcessRecord, StoredState } from "../../src/core/storage.ts";
import { MemoryStorage } from "../../src/storage/memory.ts";
import { TestClock } from "../support/clock.ts";
import { promtoolCheck } from "../support/promtool.ts";
import { sample, SimProcess, testCollector } from "../support/sim.ts";

const NOW = 1_000_000;

function state(
  descriptors: Record<string, MetricDescriptor>,
  processes: ProcessRecord[],
  retired: Record<string, string> = {},
): StoredState {
  return {
    descriptors: new Map(Object.entries(descriptors)),
    processes,
    retired: new Map(Object.entries(retired)),
    retiredVersion: 0,
    corrupt: 0,
  };
}

function proc(
  id: string,
  series: Record<string, string>,
  options: { heartbeat?: number; exited?: boolean } = {},
): ProcessRecord {
  return {
    id,
    heartbeat: options.heartbeat ?? NOW,
    exited: options.exited ?? false,
    series: new Map(Object.entries(series)),
  };
}

function renderState(s: StoredState): string {
  const merged = mergeState(s, { isLive: (p) => !p.exited && NOW - p.heartbeat <= 10_000, processLabel: "process_id" });
  return render(merged.families.values(), "prometheus");
}

function gaugeOver(mode: MultiprocessMode, processes: ProcessRecord[]): string {
  return renderState(state({ g: { type: "gauge", help: "g", mode } }, processes));
}

describe("merge", () => {
  test("counters sum across processes with no process label: 3 + 4 = 7", () => {
    const text = renderState(
      state({ c_total: { type: "counter", help: "c" } }, [proc("a", { c_total: "3" }), proc("b", { c_total: "4" })]),
    );
    assert.equal(sample(text, "c_total"), 7);
    assert.doesNotMatch(text, /process_id/);
  });

  test("gauge max, min, sum over 2 and 3 give 3, 2, 5", () => {
    const two = () => [proc("a", { g: "2" }), proc("b", { g: "3" })];
    assert.equal(sample(gaugeOver("max", two()), "g"), 3);
    assert.equal(sample(gaugeOver("min", two()), "g"), 2);
    assert.equal(sample(gaugeOver("sum", two()), "g"), 5);
    assert.equal(sample(gaugeOver("livemax", two()), "g"), 3);
    assert.equal(sample(gaugeOver("livemin", two()), "g"), 2);
    assert.equal(sample(gaugeOver("livesum", two()), "g"), 5);
  });

  test("mostrecent picks the value set last, by its timestamp, not by process order", () => {
    const processes = [proc("a", { g: "10@2000" }), proc("b", { g: "20@1000" }), proc("c", { g: "30@1500" })];
    assert.equal(sample(gaugeOver("mostrecent", processes), "g"), 10);
    assert.equal(sample(gaugeOver("mostrecent", [...processes].reverse()), "g"), 10);
  });

  test("live modes leave out exited and stale processes; the others keep them until retired", () => {
    const processes = () => [
      proc("live", { g: "1@100" }),
      proc("exited", { g: "50@300" }, { exited: true }),
      proc("stale", { g: "100@200" }, { heartbeat: NOW - 20_000 }),
    ];
    const expected: Record<string, number> = {
      max: 100,
      min: 1,
      sum: 151,
      mostrecent: 50,
      livemax: 1,
      livemin: 1,
      livesum: 1,
      livemostrecent: 1,
    };
    for (const [mode, value] of Object.entries(expected)) {
      assert.equal(sample(gaugeOver(mode as MultiprocessMode, processes()), "g"), value, mode);
    }
  });

  test("all keeps one series per process; liveall and live only the live ones", () => {
    const processes = () => [proc("a", { 'g{x="1"}': "1" }), proc("b", { 'g{x="1"}': "2" }, { exited: true })];
    const all = gaugeOver("all", processes());
    assert.equal(sample(all, 'g{x="1",process_id="a"}'), 1);
    assert.equal(sample(all, 'g{x="1",process_id="b"}'), 2);
    for (const mode of ["liveall", "live"] as const) {
      const live = gaugeOver(mode, processes());
      assert.equal(sample(live, 'g{x="1",process_id="a"}'), 1, mode);
      assert.equal(sample(live, 'g{x="1",process_id="b"}'), undefined, mode);
    }
  });

  test("every mode is handled and renders valid exposition", () => {
    for (const mode of MULTIPROCESS_MODES) {
      const text = gaugeOver(mode, [proc("a", { 'g{k="v"}': "2@1" }), proc("b", { 'g{k="v"}': "3@2" })]);
      assert.match(text, /^g\{/m, mode);
      assert.equal(promtoolCheck(text), "", mode);
    }
  });

  test("histogram buckets sum and stay cumulative, with +Inf equal to _count", () => {
    const h: MetricDescriptor = { type: "histogram", help: "h", buckets: [0.1, 1] };
    const text = renderState(state({ h_seconds: h }, [
      proc("a", { 'h_seconds{r="/"}': "0.35|3|1,2" }),
      proc("b", { 'h_seconds{r="/"}': "5.5|4|2,3" }),
    ], { 'h_seconds{r="/"}': "2|1|0,0" }));
    assert.equal(sample(text, 'h_seconds_bucket{r="/",le="0.1"}'), 3);
    assert.equal(sample(text, 'h_seconds_bucket{r="/",le="1"}'), 5);
    assert.equal(sample(text, 'h_seconds_bucket{r="/",le="+Inf"}'), 8);
    assert.equal(sample(text, 'h_seconds_count{r="/"}'), 8);
    assert.equal(sample(text, 'h_seconds_sum{r="/"}'), 7.85);
    assert.equal(promtoolCheck(text), "");
  });

  test("summaries sum their _sum and _count", () => {
    const text = renderState(
      state({ s: { type: "summary", help: "s" } }, [proc("a", { s: "1.5|2" }), proc("b", { s: "2|3" })]),
    );
    assert.equal(sample(text, "s_sum"), 3.5);
    assert.equal(sample(text, "s_count"), 5);
  });

  test("a stored gauge with a mode this version does not know is skipped and counted, never fatal", () => {
    const merged = mergeState(
      state({
        g: { type: "gauge", help: "g", mode: "bogus" as MultiprocessMode },
        c_total: { type: "counter", help: "c" },
      }, [
        proc("a", { g: "1", c_total: "3" }),
        proc("b", { g: "2" }),
      ]),
      { isLive: () => true, processLabel: "process_id" },
    );
    assert.equal(merged.corrupt, 2);
    assert.equal(merged.families.get("c_total")?.values.get(""), 3);
    assert.equal(merged.families.get("g")?.values.size ?? 0, 0);
    assert.doesNotMatch(render(merged.families.values(), "prometheus"), /^g /m);
  });

  test("corrupt values and series of unknown metrics are skipped and counted, never fatal", () => {
    const merged = mergeState(
      state({ c_total: { type: "counter", help: "c" }, h: { type: "histogram", help: "h", buckets: [1] } }, [
        proc("a", { c_total: "not-a-number", h: "1|2|3,4,5", unknown_metric: "1" }),
        proc("b", { c_total: "2", h: "1|2|1" }),
      ]),
      { isLive: () => true, processLabel: "process_id" },
    );
    assert.equal(merged.corrupt, 3);
    assert.equal(merged.families.get("c_total")?.values.get(""), 2);
    assert.equal(merged.families.get("h")?.distributions.get("")?.count, 2);
  });
});

describe("merge through real publishers", () => {
  test("label order does not matter: the same labels in any order are one series", async () => {
    const clock = new TestClock();
    const storage = new MemoryStorage({ clock: clock.now });
    const a = new SimProcess(storage, clock);
    const b = new SimProcess(storage, clock);
    const { Counter } = await import("../../src/core/values/metrics.ts");
    const ca = new Counter({ name: "x_total", help: "x", labelNames: ["b", "a"], registers: [a.registry] });
    const cb = new Counter({ name: "x_total", help: "x", labelNames: ["a", "b"], registers: [b.registry] });
    ca.inc({ b: "2", a: "1" }, 3);
    cb.inc({ a: "1", b: "2" }, 4);
    await a.publish();
    await b.publish();
    const text = await testCollector(storage, clock).render("prometheus");
    assert.equal(sample(text, 'x_total{a="1",b="2"}'), 7);
  });

  test("gauges with mostrecent use the time each was set", async () => {
    const clock = new TestClock();
    const storage = new MemoryStorage({ clock: clock.now });
    const a = new SimProcess(storage, clock);
    const b = new SimProcess(storage, clock);
    b.gauge("temp", "mostrecent").set(20);
    await new Promise((r) => setTimeout(r, 5));
    a.gauge("temp", "mostrecent").set(10);
    // b publishes later, but a set its value later: a's value wins.
    await a.publish();
    clock.advance(1000);
    await b.publish();
    assert.equal(sample(await testCollector(storage, clock).render("prometheus"), "temp"), 10);
  });
});
