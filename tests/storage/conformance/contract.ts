/**
 * The contract at the `Storage` interface: what a publish writes and answers, what a read returns,
 * retirement's compare-and-set and its tombstones, and `publishAndRead` where the backend has it.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { until } from "../../support/poll.ts";
import { rule, type Suite, TOMBSTONE_TTL_MS } from "../conformance.ts";
import { counter, histogram, retireOne, update } from "./updates.ts";

/** The contract's rules, on the backend `suite` makes. */
export function contractRules({ capabilities, clock, fresh }: Suite): void {
  test("reads back what was published, with descriptors and heartbeat", async () => {
    const s = await fresh();
    assert.equal((await s.publish(update("a", 10, { 'c_total{route="/x"}': "3", g: "7" }))).status, "ok");
    const state = await s.read();
    assert.equal(state.processes.length, 1);
    const [p] = state.processes;
    assert.equal(p.id, "a");
    assert.equal(p.heartbeat, 10);
    assert.equal(p.exited, false);
    assert.equal(p.series.get('c_total{route="/x"}'), "3");
    assert.deepEqual(state.descriptors.get("h_seconds"), histogram);
    assert.equal(state.retired.size, 0);
    await s.close();
  });

  test("a publish merges changed series into what the process already has", async () => {
    const s = await fresh();
    await s.publish(update("a", 10, { c_total: "1", g: "5" }));
    await s.publish(update("a", 20, { c_total: "2" }));
    const [p] = (await s.read()).processes;
    assert.equal(p.series.get("c_total"), "2");
    assert.equal(p.series.get("g"), "5");
    assert.equal(p.heartbeat, 20);
    await s.close();
  });

  test("publishing the same update twice changes nothing (idempotent)", async () => {
    const s = await fresh();
    const u = update("a", 10, { c_total: "4", h_seconds: "1.5|4|1,3" });
    await s.publish(u);
    await s.publish(u);
    const [p] = (await s.read()).processes;
    assert.equal(p.series.get("c_total"), "4");
    assert.equal(p.series.get("h_seconds"), "1.5|4|1,3");
    await s.close();
  });

  test("keeps processes apart and records the exited flag", async () => {
    const s = await fresh();
    await s.publish(update("a", 10, { c_total: "1" }));
    await s.publish(update("b", 11, { c_total: "2" }, true));
    const byId = new Map((await s.read()).processes.map((p) => [p.id, p]));
    assert.equal(byId.get("a")?.series.get("c_total"), "1");
    assert.equal(byId.get("b")?.series.get("c_total"), "2");
    assert.equal(byId.get("b")?.exited, true);
    assert.equal(byId.get("a")?.exited, false);
    await s.close();
  });

  test("retire commits once: folds into the retired total, removes the process, bumps the version", async () => {
    const s = await fresh();
    await s.publish(update("a", 10, { c_total: "5" }));
    const before = await s.read();
    const retirement = {
      expectedVersion: before.retiredVersion,
      processes: [{ id: "a", heartbeat: 10 }],
      retiredUpdates: new Map([["c_total", "5"]]),
    };
    const results = await Promise.all([s.retire(retirement), s.retire(retirement)]);
    assert.deepEqual(results.filter(Boolean).length, 1, "exactly one of two concurrent retirements commits");
    const after = await s.read();
    assert.equal(after.processes.length, 0);
    assert.equal(after.retired.get("c_total"), "5");
    assert.notEqual(after.retiredVersion, before.retiredVersion);
    await s.close();
  });

  test("retire fails when the version moved or the process published since it was read", async () => {
    const s = await fresh();
    await s.publish(update("a", 10, { c_total: "5" }));
    const read = await s.read();
    await s.publish(update("a", 20, { c_total: "6" }));
    assert.equal(
      await s.retire({
        expectedVersion: read.retiredVersion,
        processes: [{ id: "a", heartbeat: 10 }],
        retiredUpdates: new Map([["c_total", "5"]]),
      }),
      false,
    );
    assert.equal((await s.read()).processes[0].series.get("c_total"), "6", "the newer value survives");
    assert.equal(
      await s.retire({
        expectedVersion: read.retiredVersion + 99,
        processes: [{ id: "a", heartbeat: 20 }],
        retiredUpdates: new Map(),
      }),
      false,
    );
    assert.equal((await s.read()).retired.size, 0);
    await s.close();
  });

  test("a retired process that publishes again is told what was folded, and nothing is written", async () => {
    const s = await fresh();
    await s.publish(update("a", 10, { c_total: "5", h_seconds: "0.5|2|1,2" }));
    const read = await s.read();
    assert.equal(
      await s.retire({
        expectedVersion: read.retiredVersion,
        processes: [{ id: "a", heartbeat: 10 }],
        retiredUpdates: new Map([["c_total", "5"], ["h_seconds", "0.5|2|1,2"]]),
      }),
      true,
    );
    const outcome = await s.publish(update("a", 30, { c_total: "9" }));
    assert.equal(outcome.status, "retired");
    assert.equal(outcome.status === "retired" && outcome.folded.get("c_total"), "5");
    assert.equal(outcome.status === "retired" && outcome.folded.get("h_seconds"), "0.5|2|1,2");
    const after = await s.read();
    assert.equal(after.processes.length, 0, "the retired identity was not recreated");
    assert.equal(after.retired.get("c_total"), "5");
    await s.close();
  });

  test("concurrent publishes from many processes all land", async () => {
    const s = await fresh();
    await Promise.all(
      Array.from({ length: 8 }, (_, i) => s.publish(update(`p${i}`, 10 + i, { c_total: String(i + 1) }))),
    );
    const state = await s.read();
    assert.equal(state.processes.length, 8);
    const total = state.processes.reduce((sum, p) => sum + Number(p.series.get("c_total")), 0);
    assert.equal(total, 36);
    await s.close();
  });

  test("a first publish of 6000 series lands whole", async () => {
    const s = await fresh();
    const series = Object.fromEntries(Array.from({ length: 6000 }, (_, i) => [`c_total{i="${i}"}`, String(i)]));
    assert.equal((await s.publish(update("a", 1, series))).status, "ok");
    const [p] = (await s.read()).processes;
    assert.equal(p.series.size, 6000);
    assert.equal(p.series.get('c_total{i="5999"}'), "5999");
    await s.close();
  });

  test("a tombstone expires: after its lifetime the retired id publishes as a new process", async () => {
    const s = await fresh();
    await s.publish(update("a", 10, { c_total: "5" }));
    await retireOne(s, "a", 10, { c_total: "5" });
    assert.equal((await s.publish(update("a", 20, { c_total: "6" }))).status, "retired", "within its lifetime");
    if (capabilities.tombstoneClock === "given") {
      clock.advance(TOMBSTONE_TTL_MS - 1);
      assert.equal((await s.publish(update("a", 21, { c_total: "6" }))).status, "retired", "1 ms before");
      clock.advance(2);
      assert.equal((await s.publish(update("a", 22, { c_total: "7" }))).status, "ok", "1 ms after");
    } else {
      // The server's clock: poll until the tombstone is gone, with a deadline well past its lifetime.
      let beat = 21;
      await until(
        `the tombstone to expire (it outlived ${20 * TOMBSTONE_TTL_MS} ms)`,
        async () => (await s.publish(update("a", beat++, { c_total: "7" }))).status === "ok",
        20 * TOMBSTONE_TTL_MS,
      );
    }
    const after = await s.read();
    assert.equal(after.processes.length, 1, "the id is a process again");
    assert.equal(after.processes[0].series.get("c_total"), "7");
    assert.equal(after.retired.get("c_total"), "5", "what was folded stays folded");
    await s.close();
  });

  const answers = capabilities.retiredInAnswers
    ? false
    : "this backend's readers keep the retired total, not its answers";
  rule(
    "a publish answer carries the retired total when its version is not the one the process knows",
    answers,
    async () => {
      const s = await fresh();
      await s.publish(update("dead", 5, { c_total: "7" }));
      await retireOne(s, "dead", 5, { c_total: "7" });
      const version = (await s.read()).retiredVersion;
      const unknown = await s.publish(update("a", 10, { c_total: "1" }));
      assert.equal(unknown.status === "ok" && unknown.retired?.version, version);
      assert.equal(unknown.status === "ok" && unknown.retired?.series.get("c_total"), "7");
      assert.deepEqual(unknown.status === "ok" && unknown.descriptors?.get("c_total"), counter);
      const known = await s.publish(update("a", 11, { c_total: "1" }, false, { retiredVersion: version }));
      assert.equal(known.status === "ok" && known.retired, undefined, "not again while it is the same");
      await s.close();
    },
  );

  // A read's maps are read-only (the contract types them so): a backend may share them with its cache.
  test("a read is a snapshot: later publishes and retirements do not reach it", async () => {
    const s = await fresh();
    const given = update("a", 10, { c_total: "1", g: "2" });
    await s.publish(given);
    (given.series as Map<string, string>).set("c_total", "999"); // the caller reuses its map
    const first = await s.read();
    await s.publish(update("a", 20, { c_total: "5" }));
    await s.publish(update("b", 21, { c_total: "8" }));
    await retireOne(s, "b", 21, { c_total: "8" });
    assert.equal(first.processes.length, 1, "a process published later is not in an earlier read");
    assert.equal(first.processes[0].series.get("c_total"), "1", "nor is a later value, nor the caller's change");
    assert.equal(first.processes[0].heartbeat, 10);
    assert.equal(first.retired.size, 0, "nor a later retirement");
    const second = await s.read();
    assert.equal(second.processes.find((p) => p.id === "a")?.series.get("c_total"), "5", "a new read sees them");
    assert.equal(second.retired.get("c_total"), "8");
    await s.close();
  });

  if (capabilities.publishAndRead) {
    test("publishAndRead: one round trip whose read includes the publish", async () => {
      const s = await fresh();
      await s.publish(update("b", 5, { c_total: "2" }));
      const { outcome, state } = await s.publishAndRead!(update("a", 10, { c_total: "3" }));
      assert.equal(outcome.status, "ok");
      const byId = new Map(state!.processes.map((p) => [p.id, p.series.get("c_total")]));
      assert.deepEqual(Object.fromEntries(byId), { a: "3", b: "2" });
      await retireOne(s, "a", 10, { c_total: "3" });
      const again = await s.publishAndRead!(update("a", 11, { c_total: "4" }));
      assert.equal(again.outcome.status, "retired", "a retired id is refused there too");
      assert.equal(again.state, undefined);
      await s.close();
    });
  } else {
    test("no publishAndRead: the exporter publishes, then reads", async () => {
      const s = await fresh();
      assert.equal(s.publishAndRead, undefined);
      await s.close();
    });
  }
}
