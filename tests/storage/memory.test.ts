/** The memory backend: the shared storage suite, and the one instance every exporter of a process shares. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { MemoryStorage, sharedMemoryStorage } from "../../src/storage/memory.ts";
import { testStorage } from "./conformance.ts";

const inProcess = "memory holds everything as objects of this process";

testStorage("memory", (options) => new MemoryStorage(options), {
  tombstoneClock: "given",
  publishAndRead: false,
  retiredInAnswers: true,
  loseEverything: (s) => Promise.resolve((s as MemoryStorage).clear()),
  roundTrips: { lacks: `${inProcess}: a call is a function call, not a round trip to count` },
  damageRetiredCopy: { lacks: `${inProcess}, in one copy: nothing can garble or lose half of it` },
  damageRecord: { lacks: `${inProcess}: nothing outside the backend can damage a record` },
  addStray: { lacks: `${inProcess}: nothing but the backend writes there` },
});

test("memory storage: one shared instance per process", () => {
  assert.equal(sharedMemoryStorage(), sharedMemoryStorage());
});
