import assert from "node:assert/strict";
import { test } from "node:test";
import { MemoryStorage, sharedMemoryStorage } from "../../src/storage/memory.ts";
import { testStorage } from "./conformance.ts";

testStorage("memory", (clock) => new MemoryStorage({ clock }));

test("memory storage: one shared instance per process", () => {
  assert.equal(sharedMemoryStorage(), sharedMemoryStorage());
});

test("memory storage: a tombstone expires, after which the identity is new again", async () => {
  let now = 0;
  const s = new MemoryStorage({ clock: () => now, tombstoneTtlMs: 100 });
  const descriptors = new Map([["c_total", { type: "counter" as const, help: "c" }]]);
  await s.publish({ processId: "a", heartbeat: 0, exited: false, descriptors, series: new Map([["c_total", "1"]]) });
  assert.ok(
    await s.retire({
      expectedVersion: 0,
      processes: [{ id: "a", heartbeat: 0 }],
      retiredUpdates: new Map([["c_total", "1"]]),
    }),
  );
  assert.equal(
    (await s.publish({ processId: "a", heartbeat: 1, exited: false, descriptors, series: new Map() })).status,
    "retired",
  );
  now = 200;
  assert.equal(
    (await s.publish({ processId: "a", heartbeat: 200, exited: false, descriptors, series: new Map() })).status,
    "ok",
  );
});
