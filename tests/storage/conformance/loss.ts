/**
 * Storage that loses everything it holds (a restart without persistence, a flush, a removed
 * directory): a publish notices, writes nothing and answers `lost`; a replace puts back the
 * retired total and other processes only where storage has nothing in their place.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Suite } from "../conformance.ts";
import { acknowledged, counter, retireOne, update } from "./updates.ts";

/** The loss rules, on the backend `suite` makes. */
export function lossRules({ capabilities, fresh }: Suite): void {
  test("a publish that finds storage lost what it acknowledged answers lost and writes nothing", async () => {
    const s = await fresh();
    await s.publish(update("a", 10, { c_total: "3" }));
    assert.equal(
      (await s.publish(update("a", 20, { c_total: "4" }, false, { expect: acknowledged(10) }))).status,
      "ok",
    );
    await capabilities.loseEverything(s);
    const outcome = await s.publish(update("a", 30, { c_total: "5" }, false, { expect: acknowledged(20) }));
    assert.deepEqual(outcome, { status: "lost", lost: "record" });
    assert.equal((await s.read()).processes.length, 0, "nothing was written");
    const replaced = await s.publish(update("a", 31, { c_total: "5", g: "1" }, false, { replace: true }));
    assert.equal(replaced.status, "ok");
    const [p] = (await s.read()).processes;
    assert.equal(p.series.get("c_total"), "5");
    assert.equal(p.heartbeat, 31);
    assert.equal(
      (await s.publish(update("a", 40, { c_total: "6" }, false, { expect: acknowledged(31) }))).status,
      "ok",
      "what the replace wrote is what storage acknowledges next",
    );
    await s.close();
  });

  test("a publish whose record another process wrote (its heartbeat moved) answers lost", async () => {
    const s = await fresh();
    await s.publish(update("a", 10, { c_total: "3" }));
    await s.publish(update("a", 15, { c_total: "4" })); // applied, but its answer never arrived
    const outcome = await s.publish(update("a", 20, { c_total: "5" }, false, { expect: acknowledged(10) }));
    assert.equal(outcome.status, "lost");
    await s.close();
  });

  test("a publish that landed but whose answer was lost is not a loss: the next one names it and is written", async () => {
    const s = await fresh();
    await s.publish(update("a", 10, { c_total: "3" }));
    await s.publish(update("a", 15, { c_total: "4" })); // applied, but its answer never arrived
    const expect = { ...acknowledged(10), sent: 15 };
    assert.equal((await s.publish(update("a", 20, { c_total: "5" }, false, { expect }))).status, "ok");
    assert.equal((await s.read()).processes[0].series.get("c_total"), "5");
    await s.close();
  });

  test("a replace puts back the retired total once, only where storage holds none", async () => {
    const s = await fresh();
    await s.publish(update("dead", 5, { c_total: "7" }));
    await retireOne(s, "dead", 5, { c_total: "7" });
    const known = await s.read();
    await capabilities.loseEverything(s);
    const retired = { version: known.retiredVersion, series: known.retired };
    const restore = { retired, descriptors: known.descriptors, processes: [], version: known.retiredVersion };
    const first = await s.publish(update("a", 10, { c_total: "1" }, false, { replace: true, restore }));
    const second = await s.publish(update("b", 11, { c_total: "2" }, false, { replace: true, restore }));
    assert.equal(first.status === "ok" && first.restored?.retired, true, "the first restorer writes it");
    assert.equal(second.status === "ok" && second.restored?.retired, false, "the second finds it there");
    const state = await s.read();
    assert.equal(state.retired.get("c_total"), "7", "counted once");
    assert.equal(state.retiredVersion, known.retiredVersion, "at the version it was read at");
    const total = state.processes.reduce((sum, p) => sum + Number(p.series.get("c_total")), 0);
    assert.equal(total, 3);
    await s.close();
  });

  test("a replace puts back another process where storage has nothing of it, never over its record or tombstone", async () => {
    const s = await fresh();
    await s.publish(update("folded", 4, { c_total: "9" }));
    await retireOne(s, "folded", 4, { c_total: "9" });
    await s.publish(update("live", 6, { c_total: "8" }));
    const record = (id: string, heartbeat: number, c: string) => ({
      id,
      heartbeat,
      exited: false,
      series: new Map([["c_total", c]]),
    });
    const restore = {
      descriptors: new Map([["c_total", counter]]),
      processes: [record("gone", 3, "5"), record("live", 5, "2"), record("folded", 4, "9")],
      version: (await s.read()).retiredVersion, // read with the retired total storage holds
    };
    const outcome = await s.publish(update("a", 10, { c_total: "1" }, false, { replace: true, restore }));
    assert.equal(outcome.status === "ok" && outcome.restored?.processes, 1);
    const byId = new Map((await s.read()).processes.map((p) => [p.id, p]));
    assert.equal(byId.get("gone")?.series.get("c_total"), "5", "a process storage lost is back, as last read");
    assert.equal(byId.get("gone")?.heartbeat, 3, "with its own heartbeat, so it is retired when due");
    assert.equal(byId.get("live")?.series.get("c_total"), "8", "a stored record is never overwritten");
    assert.equal(byId.has("folded"), false, "a retired process is not brought back");
    await s.close();
  });

  test("processes read with an older retired total are not put back: one folded since would count twice", async () => {
    const s = await fresh();
    await s.publish(update("p", 4, { c_total: "9" }));
    const read = await s.read(); // p as last read, at this version
    await retireOne(s, "p", 4, { c_total: "9" }); // then folded by another collector
    await capabilities.loseEverything(s);
    // Another process repairs first, with the newer total (p folded into it).
    const newer = { version: read.retiredVersion + 1, series: new Map([["c_total", "9"]]) };
    const first = { retired: newer, descriptors: read.descriptors, processes: [], version: newer.version };
    await s.publish(update("b", 10, { c_total: "1" }, false, { replace: true, restore: first }));
    const stale = { descriptors: read.descriptors, processes: read.processes, version: read.retiredVersion };
    const outcome = await s.publish(update("a", 11, { c_total: "2" }, false, { replace: true, restore: stale }));
    assert.equal(outcome.status === "ok" && outcome.restored?.processes, 0, "p is in the retired total already");
    const state = await s.read();
    const live = state.processes.reduce((sum, p) => sum + Number(p.series.get("c_total")), 0);
    assert.equal(Number(state.retired.get("c_total")) + live, 12, "9 folded, 1 and 2 live: p counted once");
    await s.close();
  });
}
